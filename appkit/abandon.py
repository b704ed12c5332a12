"""A request whose client has gone stops its work: the pipeline's ``stop`` (``colorizer.pipeline``)
for the Gradio event running in this thread.

Gradio 6.31 never stops a function it has started. A client that goes away (the page closed, the
connection dropped: the queue's event stream ends) only has its event marked not alive; a cancelled
event (gradio_client's ``Job.cancel``, ``POST /gradio_api/cancel``) has its task cancelled and
leaves the queue's active jobs, and its place in the concurrency lane goes to the next request,
while the thread running the function goes on. A film abandoned either way kept colorizing to its
last frame, beside the request that took its place.

What is read of Gradio is its own (6.31): the event's id and Blocks in ``LocalContext`` (copied into
the worker thread, as ``gr.Progress`` reads them), the queue's ``active_jobs`` and each event's
``alive``; tests/test_abandoned_requests.py fails if they change.

    stop = ClientGone()                  # inside an event's function (its worker thread)
    colorize_film(..., stop=stop)        # Interrupted within a frame of the client going
"""

from __future__ import annotations

import logging
import threading

from gradio.context import LocalContext

log = logging.getLogger(__name__)


class ClientGone(threading.Event):
    """Set once the client of the Gradio event running in this thread has gone: its event is no
    longer among the queue's active jobs (cancelled) or is marked not alive (disconnected).

    Asked, not watched: ``is_set()`` looks at the queue each time (a scan of the few running
    events), and ``wait()`` sees only what an ``is_set()`` found. Outside an event (a direct call, a
    test, an event run without the queue) it is an ordinary Event that nothing sets.
    """

    def __init__(self) -> None:
        super().__init__()
        self._queue = getattr(LocalContext.blocks.get(None), "_queue", None)
        self._event_id = LocalContext.event_id.get(None)
        self._queued = self._event() is not None  # else run without the queue: nothing to watch

    def is_set(self) -> bool:
        if not super().is_set() and self._queued and self._gone():
            log.info("event %s: its client has gone; its work stops", self._event_id)
            self.set()
        return super().is_set()

    def _gone(self) -> bool:
        event = self._event()
        return event is None or not event.alive

    def _event(self):
        """This thread's event among the queue's running ones (a list per worker, None when free)."""
        if self._queue is None or self._event_id is None:
            return None
        for job in self._queue.active_jobs:
            for event in job or ():
                if event._id == self._event_id:
                    return event
        return None
