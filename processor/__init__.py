"""Local video processor: upload -> ffprobe -> single-pass ffmpeg (MP4 + HLS) -> publish via the signer.

Replaces the seed's Express proof of concept. Modules: ``settings`` (configuration), ``pipeline``
(ffprobe/ffmpeg command builders and runners), ``jobs`` (SQLite job store), ``worker`` (bounded
pool), ``publisher`` (signer contract client) and ``app`` (the HTTP API).
"""
