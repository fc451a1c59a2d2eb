"""The Channels-tutorial-shaped reference: one room group, group_send per message, no database.

Its own tiny ASGI project (settings, routing, consumer), run on Daphne with the Redis channel
layer by bench/ws_fanout.py: what a Django Channels user starts from.
"""
