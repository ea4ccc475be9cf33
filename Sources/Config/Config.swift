// Config: see Package.swift for the layering.
