// IMAPProtocol: see Package.swift for the layering.
