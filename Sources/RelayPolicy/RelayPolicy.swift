// RelayPolicy: see Package.swift for the layering.
