"""Sertel: the Flask application and workflow runtime of the Registration Authority."""
