"""Every archive format, single files, and each kind of malicious archive, fetched from local files."""
import hashlib
import io
import tarfile

import pytest

from services.storage import archives
from services.storage.errors import InvalidKey, ObjectNotFound, StorageError, TooLarge, UnsafeArchive
from services.storage.fetch import fetch
from tests.storage.builders import MiB, gzip_of_zeros, special, tar_bytes, write, zip_bytes
from tests.storage.conftest import leftovers

FILES = [("saved_model.pb", b"graph-def"), ("variables/variables.index", b"index"),
         ("variables/variables.data-00000-of-00001", b"\x00\x01weights")]


def fetch_file(storage, tmp_path, name: str, data: bytes):
    return fetch(str(write(tmp_path / "src" / name, data)))


def tree(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name, data", [
    ("model.tar", tar_bytes(FILES)),
    ("model.tar.gz", tar_bytes(FILES, "w:gz")),
    ("model.tgz", tar_bytes(FILES, "w:gz")),
    ("model.tar.bz2", tar_bytes(FILES, "w:bz2")),
    ("model.bz2", tar_bytes(FILES, "w:bz2")),
    ("model.tar.xz", tar_bytes(FILES, "w:xz")),
    ("model.zip", zip_bytes(FILES)),
    ("savedmodel", tar_bytes(FILES, "w:gz")),      # no extension: the content decides
    ("model.zip", tar_bytes(FILES, "w:gz")),       # misnamed: the content decides
], ids=["tar", "tar.gz", "tgz", "tar.bz2", "bz2", "tar.xz", "zip", "no-extension", "misnamed"])
def test_every_archive_format_is_extracted(storage, tmp_path, name, data):
    fetched = fetch_file(storage, tmp_path, name, data)
    assert tree(fetched.path) == dict(FILES)
    assert fetched.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert fetched.entry("variables/variables.index").read_bytes() == b"index"
    assert leftovers(storage.cache) == [fetched.path.relative_to(storage.cache).as_posix()]


def test_single_files_keep_their_name(storage, tmp_path):
    pmml = fetch_file(storage, tmp_path, "lr.pmml", b"<PMML/>")
    assert tree(pmml.path) == {"lr.pmml": b"<PMML/>"}
    assert pmml.entry() == pmml.path / "lr.pmml"
    # A TorchScript file is a zip archive inside, but its name says it is a file.
    torchscript = zip_bytes([("archive/data.pkl", b"pickle")])
    pt = fetch_file(storage, tmp_path, "model.pt", torchscript)
    assert tree(pt.path) == {"model.pt": torchscript}


def test_same_content_under_another_name_gets_its_own_directory(storage, tmp_path):
    first = fetch_file(storage, tmp_path, "a.pmml", b"<PMML/>")
    second = fetch_file(storage, tmp_path, "b.pmml", b"<PMML/>")
    assert first.digest == second.digest
    assert tree(first.path) == {"a.pmml": b"<PMML/>"} and tree(second.path) == {"b.pmml": b"<PMML/>"}


def test_a_compressed_single_file_is_decompressed(storage, tmp_path):
    fetched = fetch_file(storage, tmp_path, "model.onnx.gz", gzip_of_zeros(MiB))
    assert tree(fetched.path) == {"model.onnx": bytes(MiB)}


def test_links_inside_the_archive_are_kept(storage, tmp_path):
    data = tar_bytes([("weights.bin", b"w"), special("latest", tarfile.SYMTYPE, "weights.bin"),
                      special("copy.bin", tarfile.LNKTYPE, "weights.bin")], "w:gz")
    fetched = fetch_file(storage, tmp_path, "model.tar.gz", data)
    assert (fetched.path / "latest").is_symlink() and (fetched.path / "latest").read_bytes() == b"w"
    assert (fetched.path / "copy.bin").read_bytes() == b"w"


def test_model_entry_must_exist_inside_the_model(storage, tmp_path):
    fetched = fetch_file(storage, tmp_path, "model.tar", tar_bytes(FILES))
    assert fetched.entry() == fetched.path
    with pytest.raises(ObjectNotFound, match="model_entry 'missing.pb' is not in the model"):
        fetched.entry("missing.pb")
    with pytest.raises(InvalidKey, match="inside the model"):
        fetched.entry("../../etc/passwd")


@pytest.mark.parametrize("name, data, message", [
    ("model.tar", tar_bytes([("ok.txt", b"x"), ("../evil.txt", b"x")]),
     "archive member '../evil.txt' points outside the target directory"),
    ("model.tar", tar_bytes([("/tmp/evil.txt", b"x")]), "archive member '/tmp/evil.txt' has an absolute path"),
    ("model.tar.gz", tar_bytes([special("link", tarfile.SYMTYPE, "../../evil-dir")], "w:gz"),
     "archive member 'link' is a symbolic link pointing outside the archive"),
    ("model.tar", tar_bytes([special("link", tarfile.SYMTYPE, "/etc/passwd")]),
     "archive member 'link' is a symbolic link to the absolute path '/etc/passwd'"),
    ("model.tar", tar_bytes([special("here", tarfile.SYMTYPE, "."), special("up", tarfile.SYMTYPE, "here/..")]),
     "archive member 'up' is a symbolic link pointing outside the archive"),
    ("model.tar", tar_bytes([special("sub", tarfile.DIRTYPE), special("d", tarfile.SYMTYPE, "sub"),
                             ("d/evil.txt", b"x")]),
     "archive member 'd/evil.txt' would be written through the link d"),
    ("model.tar", tar_bytes([special("hard", tarfile.LNKTYPE, "../evil.txt")]),
     "archive member 'hard' is a hard link to '../evil.txt', outside the archive"),
    ("model.tar", tar_bytes([special("hard", tarfile.LNKTYPE, "/etc/passwd")]),
     "archive member 'hard' is a hard link to '/etc/passwd', outside the archive"),
    ("model.tar", tar_bytes([special("dev/null", tarfile.CHRTYPE)]),
     "archive member 'dev/null' is a character device"),
    ("model.tar", tar_bytes([special("disk", tarfile.BLKTYPE)]), "archive member 'disk' is a block device"),
    ("model.tar", tar_bytes([special("pipe", tarfile.FIFOTYPE)]), "archive member 'pipe' is a FIFO"),
    ("model.zip", zip_bytes([("../evil.txt", b"x")]),
     "archive member '../evil.txt' points outside the target directory"),
    ("model.zip", zip_bytes([], symlinks={"link": "../../evil-dir"}),
     "archive member 'link' is a symbolic link pointing outside the archive"),
], ids=["traversal", "absolute", "symlink-out", "symlink-absolute", "symlink-chain", "write-through-link",
        "hardlink-out", "hardlink-absolute", "char-device", "block-device", "fifo", "zip-traversal",
        "zip-symlink-out"])
def test_malicious_archives_are_refused_and_leave_nothing(storage, tmp_path, name, data, message):
    with pytest.raises(UnsafeArchive) as caught:
        fetch_file(storage, tmp_path, name, data)
    assert message in str(caught.value)
    assert leftovers(storage.cache) == []
    assert not list(tmp_path.rglob("evil*")) and not list(tmp_path.rglob("*.partial"))


def test_a_gigabyte_of_zeros_is_refused_as_a_bomb(storage, tmp_path):
    storage.settings.EAS_STORAGE_MAX_EXTRACTED_BYTES = 10 * MiB
    bomb = gzip_of_zeros(1024 * MiB, tar_member="zeros.bin")
    assert len(bomb) < 2 * MiB
    with pytest.raises(TooLarge, match=r"expands to more than 10.0 MiB \(at member 'zeros.bin'\)"):
        fetch_file(storage, tmp_path, "bomb.tar.gz", bomb)
    assert leftovers(storage.cache) == []


def test_a_bomb_without_headers_is_stopped_while_decompressing(storage, tmp_path):
    """A bare gzip stream declares no size: the limit is enforced on the bytes as they come out."""
    storage.settings.EAS_STORAGE_MAX_EXTRACTED_BYTES = 10 * MiB
    with pytest.raises(TooLarge, match=r"expands to more than 10.0 MiB \(at member 'weights.bin'\)"):
        fetch_file(storage, tmp_path, "weights.bin.gz", gzip_of_zeros(1024 * MiB))
    assert leftovers(storage.cache) == []


def test_too_many_members_are_refused(storage, tmp_path):
    storage.settings.EAS_STORAGE_MAX_ARCHIVE_MEMBERS = 10
    data = zip_bytes([(f"f{i}.txt", b"") for i in range(50)])
    with pytest.raises(TooLarge, match=r"more than 10 members \(at member 'f10.txt'\)"):
        fetch_file(storage, tmp_path, "many.zip", data)
    assert leftovers(storage.cache) == []


@pytest.mark.parametrize("name, data, message", [
    ("model.tar.gz", b"this is not an archive", "named like an archive, but its content is not"),
    ("model.tar.gz", tar_bytes(FILES, "w:gz")[:-20], "damaged or truncated"),
    ("model.zip", zip_bytes(FILES)[:-30], "damaged or truncated"),
], ids=["not-an-archive", "truncated-tar.gz", "truncated-zip"])
def test_damaged_archives_are_reported(storage, tmp_path, name, data, message):
    with pytest.raises(StorageError, match=message):
        fetch_file(storage, tmp_path, name, data)
    assert leftovers(storage.cache) == []


def test_tar_stream_of_a_folder_round_trips(tmp_path):
    files = {"a.txt": b"a" * 1000, "sub/b.bin": b"\x00" * 512, "sub/empty": b""}
    members = [(name, write(tmp_path / name, content)) for name, content in files.items()]
    stream = b"".join(archives.tar_stream(members))
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == files
