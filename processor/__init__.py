"""Local video processor: upload -> ffprobe -> single-pass ffmpeg (MP4 + HLS) -> publish via the signer.

Replaces the seed's Express proof of concept. Modules: ``settings`` (configuration), ``pipeline``
(ffprobe/ffmpeg command builders, probe, transcode), ``hls`` (master playlist), ``runner`` (ffmpeg
and ffprobe processes: own process group, gone with the server, limits watched on ``-progress``),
``errors``, ``jobs`` (SQLite job store), ``worker`` (bounded pool and queue), ``publisher``
(signer contract client, batches) and ``app`` (the HTTP API).
"""
