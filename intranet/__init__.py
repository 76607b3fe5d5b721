"""Intranet of a departmental tourism agency and its tourist offices."""
