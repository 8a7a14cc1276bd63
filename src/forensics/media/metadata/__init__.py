"""Metadata: `probe_media` (probe) gives one normalised record per file (record), from readers run in isolated,
time-limited workers (readers); the claims of when, where and with what (claims, timestamps, location), the
EXIF thumbnail check (thumbnail) and the flags. formats/ and makers/ hold the readers themselves.
"""
