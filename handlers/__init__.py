"""Service-task handlers and user-task form schemas, discovered and registered by the engine."""
