"""Domain types of the broker: frozen dataclasses, enums, errors and the order-state table.

Imports nothing from grpc, ibapi or the rest of the project.
"""
