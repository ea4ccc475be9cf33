import Mailgate
print("mailgate")
