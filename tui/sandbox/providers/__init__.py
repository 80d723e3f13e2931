"""The four simulated order systems, one module each: state model, demo data, HTTP routes."""
