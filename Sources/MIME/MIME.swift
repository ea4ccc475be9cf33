// MIME: see Package.swift for the layering.
