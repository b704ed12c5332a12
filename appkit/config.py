"""The public server's limits and launch settings: what one request may ask, how many run at once,
how long files are kept. The library's own defaults (``colorizer.limits``, ``colorizer.video.FilmLimits``)
are for a user's own files; these, named PUBLIC_* where both exist, are for strangers' uploads.

Gradio 6 has no time limit for ordinary events: the work per request is bounded by the pixel, file,
batch and film limits here and by the render size's maximum.
"""

from __future__ import annotations

import os

from appkit.film_budget import ServerFilmLimits
from colorizer.limits import DEFAULT_MAX_PIXELS

PUBLIC_MAX_PIXELS = DEFAULT_MAX_PIXELS  # larger uploads are refused before decoding (ImageTooLargeError)
MAX_FILE_MB = 25
MAX_FILE_BYTES = MAX_FILE_MB * 2**20
MAX_FILE_SIZE = f"{MAX_FILE_MB}mb"  # Gradio's spelling of MAX_FILE_BYTES (it takes "mb" as 2**20 bytes)
MAX_BATCH_FILES = 20  # photos per "Many photos" request
# A public page on two CPU cores colorizes ~3-6 frames/s of 640x360 (docs/video.md): a minute of
# 720p at 25 frames/s already keeps one of its two workers busy for several minutes. Each frame costs
# a network pass however small it is: a minute at 60 frames/s (without a frame limit a minute of
# 2-pixel frames at 1,000 frames/s, a few hundred KB, would be 60,000 passes, hours of a worker).
# Each pixel of each frame costs too (decoding, optical flow, upsampling, encoding): with steady
# colours a 1280x720 frame took 123 ms of CPU, a 320x240 one 49 ms; without, 451 and 318 ms
# (docs/reliability.md, round three). The frames times the pixels of one frame are held to a minute
# of 1280x720 at 30 frames/s, half of 3,600 such frames (a minute at 60 frames/s fits up to 640x720).
PUBLIC_MAX_FILM_TOTAL_PIXELS = 1800 * 1280 * 720
PUBLIC_FILM_LIMITS = ServerFilmLimits(
    max_seconds=60.0, max_pixels=1280 * 720, max_frames=3600, max_total_pixels=PUBLIC_MAX_FILM_TOTAL_PIXELS
)
CONCURRENCY = 2  # photo requests colorized at once, page, API, MCP and batch together; the others wait
CONCURRENCY_ID = "colorize"
# Films run in a lane of their own, one at a time: a film takes minutes of a worker, and two of them
# in the photos' lane made a photo wait minutes (reliability round three). The others wait in it.
FILM_CONCURRENCY = 1
FILM_CONCURRENCY_ID = "film"
SESSION_THREADS = max(1, (os.cpu_count() or 1) // CONCURRENCY)
QUEUE_SIZE = 32  # requests waiting beyond that are refused with "queue is full"
DELETE_CACHE = (600, 3600)  # every 10 minutes, Gradio deletes its uploads and results older than an hour
MAX_KEPT_BYTES = 2 * 2**30  # disk taken (blocks) by the uploads and results kept in all; the oldest go first
MAX_KEPT_FILES = 10_000  # and files (each takes an inode and a block, however small)
MAX_KEPT_SECONDS = sum(DELETE_CACHE)  # and for at most as long as Gradio keeps its own files
# The mcp package refuses a body over its own limit (4 MiB) with a bare 413; ours refuses it first,
# saying what to do instead. A data: URL carries at most ~3 MB of photo (base64 in JSON).
MCP_BODY_LIMIT = 4 * 2**20  # mcp.server.transport_security.DEFAULT_MAX_REQUEST_BODY_SIZE
BODY_LIMITS = {  # request bodies by path prefix; a larger body gets 413 before it is read
    "/gradio_api/upload": MAX_BATCH_FILES * MAX_FILE_BYTES + 2**20,  # multipart, streamed to disk by Gradio
    "/gradio_api/mcp": MCP_BODY_LIMIT,
}
BODY_ADVICE = {  # said with the 413, by path prefix
    "/gradio_api/mcp": "send the photo as an https:// URL, not a data: URL (a data: URL carries at most ~3 MB)",
}
MAX_OTHER_BODY = 2**20  # the queue's JSON and everything else
LAUNCH_OPTIONS = {
    "max_file_size": MAX_FILE_SIZE,
    "show_error": True,  # the colorizer's one-line messages reach the page and API clients
    "ssr_mode": False,  # client-side rendering: no Node server
    "enable_monitoring": False,  # left at None, Gradio lets anyone read /monitoring/summary
    "mcp_server": True,  # the public endpoint is also an MCP tool, at /gradio_api/mcp/
}
