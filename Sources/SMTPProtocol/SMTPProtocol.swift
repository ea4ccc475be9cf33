// SMTPProtocol: see Package.swift for the layering.
