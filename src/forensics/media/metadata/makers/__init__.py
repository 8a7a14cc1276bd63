"""Makers' own blocks that exifread and libavformat do not read (Canon CIFF, AVCHD MDPM, FLIR, Sony XML, DV
packs, RIFF chunks, Matroska's DateUTC, camera raw headers, QuickTime user data...): each decoder gives a
VendorBlock (vendor_block), and maker_formats runs those a file's signature calls for.
"""
