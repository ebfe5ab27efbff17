"""Stored call metrics of services (M1): the gateway writes them, the console's charts read them."""
