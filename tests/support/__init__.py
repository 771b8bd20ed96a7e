"""Test machinery: the recording Bot API transport, the HTML validator, local servers."""
