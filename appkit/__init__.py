"""The app's server plumbing, kept out of app.py: request-body limits (``limits``) and the disk
budget of uploads and results (``disk``). Nothing here knows about colour; nothing in colorizer/
imports it."""
