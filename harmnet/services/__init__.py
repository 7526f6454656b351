"""Domain logic: functions over the session that flush but never commit."""
