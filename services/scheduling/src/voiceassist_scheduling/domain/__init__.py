"""The scheduling service's domain logic: pure Python, no I/O imports.

The clinic's values (model.py), free slots from weekly rules across DST (slots.py), matching a
triaged patient to practitioners by urgency, specialty, language and place (matching.py),
spoken time preferences (time_expressions.py), calendars (ical.py) and reminder texts
(reminders.py).
"""
