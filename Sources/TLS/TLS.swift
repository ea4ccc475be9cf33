// TLS: see Package.swift for the layering.
