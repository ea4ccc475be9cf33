// MailCore: see Package.swift for the layering.
