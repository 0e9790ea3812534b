"""Streaming tracking results over OSC/UDP in the VMC protocol (Virtual Motion Capture),
which VSeeFace, Warudo, VNyan and other VTuber tools receive.

Each frame is one OSC bundle: ``/VMC/Ext/Blend/Val (name, value)`` per ARKit weight (the
"perfect sync" names), ``/VMC/Ext/Blend/Apply``, the head as ``/VMC/Ext/Bone/Pos ("Head",
0, 0, 0, qx, qy, qz, qw)`` (the neck's rotation) and ``/VMC/Ext/OK (1)`` while a face is tracked (0 when not).
VMC speaks Unity's left-handed axes: our right-handed glTF rotation (x, y, z, w) becomes
(x, -y, -z, w), as UniGLTF converts them. OSC is python-osc's.
"""

from __future__ import annotations

import math

import numpy as np

INSTALL_HINT = 'pip install "stylemm[tracking]"  (python-osc)'


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port), with a ValueError that shows the form."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--vmc wants HOST:PORT, e.g. 127.0.0.1:39539 (VSeeFace's default), got {text!r}")
    return host, int(port)


def unity_quaternion(axis_angle) -> tuple[float, float, float, float]:
    """A glTF axis-angle rotation as a Unity quaternion (x, y, z, w)."""
    v = np.asarray(axis_angle, np.float64)
    angle = float(np.linalg.norm(v))
    axis = v / angle if angle > 1e-12 else np.zeros(3)
    s = math.sin(angle / 2)
    x, y, z, w = axis[0] * s, axis[1] * s, axis[2] * s, math.cos(angle / 2)
    return float(x), float(-y), float(-z), float(w)


class VMCSender:
    """``send(result)`` streams one TrackResult to a VMC receiver at host:port."""

    def __init__(self, host: str, port: int, head_bone: str = "Head"):
        try:
            from pythonosc.udp_client import SimpleUDPClient
        except ImportError as e:
            raise ImportError(f"--vmc streams with python-osc: {INSTALL_HINT}") from e
        self._client = SimpleUDPClient(host, port)
        self.head_bone = head_bone

    def bundle(self, result):
        """The OSC bundle of one frame (python-osc's OscBundle)."""
        from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder

        builder = OscBundleBuilder(IMMEDIATELY)

        def message(address, *args):
            m = OscMessageBuilder(address=address)
            for a in args:
                m.add_arg(a)
            builder.add_content(m.build())

        message("/VMC/Ext/OK", 1 if result.found else 0)
        for name, value in result.weights.items():
            message("/VMC/Ext/Blend/Val", name, float(value))
        message("/VMC/Ext/Blend/Apply")
        # A bone's local rotation; receivers keep the rig's own bone offset, so the position is 0
        # (the head's translation is in --weights' JSON lines).
        message("/VMC/Ext/Bone/Pos", self.head_bone, 0.0, 0.0, 0.0, *unity_quaternion(result.pose["neck"]))
        return builder.build()

    def send(self, result) -> None:
        self._client.send(self.bundle(result))
