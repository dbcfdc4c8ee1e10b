"""Small helpers shared across kpose's packages."""
