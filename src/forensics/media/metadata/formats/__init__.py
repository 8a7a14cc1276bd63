"""Readers of the standard formats: EXIF through exifread (exif, over a memory map: mapped_exif), XMP, IPTC,
ISO BMFF boxes, JPEG segments and scan data, and container and stream facts through libavformat (container).
"""
