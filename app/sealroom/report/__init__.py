"""Documents rendered from the ceremony journal alone (reportlab), and printing them."""
