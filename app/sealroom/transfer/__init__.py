"""Data across the air gap as QR codes: SR1 framing, rendering (screen, paper) and scanning."""
