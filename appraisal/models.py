"""appraisal: built in a later issue; the app exists so the layout and dependency direction are fixed now."""
