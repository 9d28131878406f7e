"""PDF objects read once per batch: a reader that shares what pypdf parsed by the bytes it read.

Every document's own file of a batch holds the same fonts, the same page dictionaries and many
of the same content streams, byte for byte. :class:`SharingReader` is a ``pypdf.PdfReader`` whose
objects, once pypdf has parsed them from some bytes, are copied (not parsed again) wherever the
same bytes are met again, in any file.

Soundness rests on one fact checked, not assumed: an object is shared only when pypdf's own
parse of it read nothing but its text, from its header ``N G obj`` up to the first ``endobj``
after it (the reads are watched: :class:`_Watched`), resolved no other object while parsing
(an indirect ``/Length``), and the file is not encrypted. pypdf's parse is then a function of
that text alone, so the same text (at the offset the file's own cross-reference table gives, with
the same header) gives the same object. A file that lies in its xref, overlaps its objects or
hides an ``endobj`` inside a stream is parsed by pypdf as always: its bytes at that offset are
not a text seen before, or its parse read further than that text and was never shared.
Copies are new objects bound to the file being read; nothing is shared across files but leaves
(names, numbers, strings: immutable) and the bytes of streams.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pypdf
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

#: an object whose text is longer than this is parsed in each file (no sharing)
MAX_SHARED_TEXT = 64 << 10
#: the shared objects' texts add up to at most this many bytes (then the sharing starts again)
MAX_SHARED_BYTES = 12 << 20
#: containers nested deeper than this are not shared
_MAX_DEPTH = 32
#: a closure (:meth:`SharingReader.closure`) of more objects than this is not worked out
_MAX_CLOSURE = 32
#: how far past an object's ``endobj`` pypdf's parse may have read for it to be shared
_LOOK_AHEAD = 32

_LEAVES = frozenset(
    (
        NameObject,
        NumberObject,
        FloatObject,
        BooleanObject,
        NullObject,
        TextStringObject,
        ByteStringObject,
    )
)
_STREAMS = frozenset((EncodedStreamObject, DecodedStreamObject))
_HEADER = re.compile(rb"(\d+) (\d+) obj")


class _Ref(tuple[int, int]):
    """An indirect reference in a shared object: bound to a reader when copied."""

    __slots__ = ()


class _Node:
    """A shared container: a prototype holding its leaves, and its other children by key."""

    __slots__ = ("children", "data", "kind", "proto", "refs")

    def __init__(self, kind: type, proto: Any, data: bytes, children: tuple[Any, ...]) -> None:
        self.kind = kind
        self.proto = proto
        self.data = data
        self.children = children
        #: the references it holds, in order (nested ones included)
        self.refs: tuple[_Ref, ...] = tuple(
            ref
            for _key, child in children
            for ref in ((child,) if type(child) is _Ref else child.refs)
        )


def _shareable(obj: Any, depth: int = 0) -> Any:
    """``obj`` as a template (:class:`_Node`, :class:`_Ref` or a leaf); None if not shareable."""
    kind = type(obj)
    if kind in _LEAVES:
        return obj
    if kind is IndirectObject:
        return _Ref((obj.idnum, obj.generation))
    if depth > _MAX_DEPTH:
        return None
    if depth and getattr(obj, "indirect_reference", None) is not None:
        return None  # a direct object that names a place of its own: not pypdf's usual parse
    data = b""
    if kind in _STREAMS:
        if set(vars(obj)) - {"_data", "decoded_self", "indirect_reference"}:
            return None
        if obj.decoded_self is not None or not isinstance(obj._data, bytes):
            return None
        data = obj._data
    elif kind is DictionaryObject or kind is ArrayObject:
        if set(vars(obj)) - {"indirect_reference"}:
            return None
    else:
        return None
    array = kind is ArrayObject
    proto: Any = [] if array else {}
    children = []
    for key, value in enumerate(obj) if array else obj.items():
        if not array and type(key) not in _LEAVES:
            return None
        template = _shareable(value, depth + 1)
        if template is None:
            return None
        leaf = type(template) in _LEAVES
        if not leaf:
            children.append((key, template))
        # a child's place is kept (in a dictionary, the keys' order) and filled when copied
        if array:
            proto.append(template if leaf else None)
        else:
            proto[key] = template if leaf else None
    return _Node(kind, proto, data, tuple(children))


def _copy(template: Any, reader: pypdf.PdfReader) -> Any:
    """A new object from a template, its references bound to ``reader``."""
    kind = type(template)
    if kind is _Ref:
        return IndirectObject(template[0], template[1], reader)
    if kind is not _Node:
        return template  # a leaf: immutable
    made: Any
    if template.kind is ArrayObject:
        made = ArrayObject(template.proto)
    elif template.kind is DictionaryObject:
        made = DictionaryObject(template.proto)
    else:
        made = template.kind()
        made._data = template.data
        dict.update(made, template.proto)
    setitem = list.__setitem__ if template.kind is ArrayObject else dict.__setitem__
    for key, child in template.children:
        setitem(made, key, _copy(child, reader))
    return made


class ObjectCache:
    """Shared objects by their text (without the header); bounded in bytes.

    With each text, the bytes after it that pypdf's parse read too (a number's look-ahead reads
    a few bytes past ``endobj``): an object is shared only where those bytes are the same.
    """

    def __init__(self, max_bytes: int = MAX_SHARED_BYTES) -> None:
        self.max_bytes = max_bytes
        self.templates: dict[bytes, tuple[bytes, _Node]] = {}
        self.size = 0

    def get(self, text: bytes, data: bytes, end: int) -> tuple[bytes, _Node] | None:
        """The object of ``text``, if the bytes of ``data`` after it (from ``end``) are its own."""
        found = self.templates.get(text)
        if found is None or data[end : end + len(found[0])] != found[0]:
            return None
        return found

    def put(self, text: bytes, after: bytes, template: _Node) -> None:
        if self.size + len(text) > self.max_bytes:
            self.templates.clear()
            self.size = 0
        self.templates[text] = (after, template)
        self.size += len(text)


_read, _tell = io.BytesIO.read, io.BytesIO.tell


class _Watched(io.BytesIO):
    """A file's bytes that remember how far they were read (any whole-buffer access: all)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.high = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = _read(self, size)  # pypdf reads byte by byte: this is its hot path
        end = _tell(self)
        if end > self.high:
            self.high = end
        return chunk

    def read1(self, size: int | None = -1) -> bytes:
        chunk = super().read1(size)
        self.high = max(self.high, self.tell())
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.high = max(self.high, self.tell())
        return chunk

    def readinto(self, buffer: Any) -> int:
        self.high = 1 << 62
        return super().readinto(buffer)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        self.high = 1 << 62
        return super().readlines(hint)

    def getbuffer(self) -> memoryview:
        self.high = 1 << 62
        return super().getbuffer()

    def getvalue(self) -> bytes:
        self.high = 1 << 62
        return super().getvalue()

    def __next__(self) -> bytes:
        self.high = 1 << 62
        return super().__next__()


class SharingReader(pypdf.PdfReader):
    """A ``PdfReader`` over ``data`` that shares parsed objects through ``shared``.

    ``learn``: whether the objects it parses are offered to ``shared`` (else it only takes).
    """

    def __init__(self, data: bytes, shared: ObjectCache, learn: bool = True) -> None:
        self._bytes = data
        self._shared = shared
        self._learn = learn
        self._watched: _Watched | None = None
        self._parsing = False
        self._nested = 0
        #: the text and template of each object read through the sharing
        self.texts: dict[tuple[int, int], tuple[bytes, _Node]] = {}
        self._closures: dict[tuple[int, int], tuple[object, ...] | None] = {}
        super().__init__(io.BytesIO(data))

    def closure(self, ref: IndirectObject) -> tuple[object, ...] | None:
        """The texts of the object ``ref`` names and of all it reaches, by number (its content).

        Two objects with the same closure are the same objects, whatever file they lie in, and
        reach the same objects: what is read from them alone is the same. None: one of them was
        not read through the sharing (or there are too many).
        """
        start = (ref.idnum, ref.generation)
        if start not in self._closures:
            self._closures[start] = self._closure(start)
        return self._closures[start]

    def _closure(self, start: tuple[int, int]) -> tuple[object, ...] | None:
        found: list[object] = []
        seen = {start}
        queue = [start]
        while queue:
            number, generation = queue.pop(0)
            try:
                self.get_object(IndirectObject(number, generation, self))
            except Exception:  # a damaged object: read without the sharing, as it always was
                return None
            known = self.texts.get((number, generation))
            if known is None:
                return None
            text, template = known
            found.append((number, generation, text))
            for ref in template.refs:
                if ref not in seen:
                    if len(seen) >= _MAX_CLOSURE:
                        return None
                    seen.add(ref)
                    queue.append(ref)
        return tuple(found)

    def get_object(self, indirect_reference: int | IndirectObject) -> PdfObject | None:
        if isinstance(indirect_reference, int):
            indirect_reference = IndirectObject(indirect_reference, 0, self)
        number, generation = indirect_reference.idnum, indirect_reference.generation
        if self._parsing:
            self._nested += 1  # an object read while another is parsed: that one is not shared
            return super().get_object(indirect_reference)
        text, start = self._text(number, generation)
        if text is None:
            return super().get_object(indirect_reference)
        end = start + len(text)  # start: where the text begins, after the header
        found = self._shared.get(text, self._bytes, end)
        if found is not None:
            after, node = found
            copied: PdfObject = _copy(node, self)
            self.cache_indirect_object(generation, number, copied)
            self.texts[(number, generation)] = (text + after, node)
            return copied
        if not self._learn:
            return super().get_object(indirect_reference)
        watched = self._watched
        if watched is None:
            watched = self._watched = _Watched(self._bytes)
        watched.high = 0
        saved, self.stream = self.stream, watched
        self._parsing, self._nested = True, 0
        try:
            made: PdfObject | None = super().get_object(indirect_reference)
        finally:
            self.stream = saved
            self._parsing = False
        # shared only if all pypdf read was the object's text (and a few bytes after it, not
        # the file's end: a short read tells that the file ends, which another may not)
        high = watched.high
        if self._nested == 0 and high <= end + _LOOK_AHEAD and high < len(self._bytes):
            template = _shareable(made) if made is not None else None
            if type(template) is _Node:
                after = self._bytes[end:high] if high > end else b""
                self._shared.put(text, after, template)
                self.texts[(number, generation)] = (text + after, template)
        return made

    def _text(self, number: int, generation: int) -> tuple[bytes | None, int]:
        """An object's text after its header, where the xref places it (None: not shareable)."""
        if (generation, number) in self.resolved_objects or self._encryption is not None:
            return None, 0
        if generation == 0 and number in self.xref_objStm:
            return None, 0
        offset = self.xref.get(generation, {}).get(number)
        if not isinstance(offset, int) or offset < 0:
            return None, 0
        if self.xref_free_entry.get(generation, {}).get(number, False):
            return None, 0
        data = self._bytes
        header = _HEADER.match(data, offset)
        if header is None or header.group(1) != b"%d" % number:
            return None, 0
        if header.group(2) != b"%d" % generation:
            return None, 0
        end = data.find(b"endobj", header.end(), header.end() + MAX_SHARED_TEXT)
        if end < 0:
            return None, 0
        return data[header.end() : end + 6], header.end()
