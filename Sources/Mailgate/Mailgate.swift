// Mailgate: see Package.swift for the layering.
