import ArgumentParser
import Auth
import Mailgate

struct Passwd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a password and print its crypt(3) hash for [[user]] password_hash.",
        discussion: "Reads one line from standard input, or prompts twice (without echo) on a terminal.")

    @Flag(help: "SHA-512-crypt ($6$) instead of yescrypt ($y$).")
    var sha512 = false

    func run() throws {
        let password: String
        if Terminal.isInteractive {
            guard let first = Terminal.readSecret(prompt: "Password: "),
                  let second = Terminal.readSecret(prompt: "Again: ")
            else { throw ValidationError("no password read") }
            guard first == second else { throw ValidationError("the passwords differ") }
            password = first
        } else {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
            password = line
        }
        guard !password.isEmpty else { throw ValidationError("the password is empty") }
        print(try PasswordHash.make(password, scheme: sha512 ? .sha512 : .yescrypt))
    }
}
