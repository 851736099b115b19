using System.Buffers;
using System.Security.Cryptography;

namespace Prism.Scanner.Signatures;

/// <summary>
/// clamscan's scan of HTML (cli_scanhtml): a file <see cref="TextTyping"/> types HTML by a rule in its first bytes is
/// not scanned raw at all (no body or logical match, no hash signature of the file — only an allow-list entry naming
/// the file's hash still clears it); its normalisations (<see cref="HtmlNormalizer"/>;
/// for HTML found in the UTF-16 decoding of the first bytes, of the file decoded so) are each scanned as a file of
/// their own with the signatures of target types 0 and 3 and the file hashes: nocomment.html always, notags.html when
/// the normalised input is at most <see cref="HtmlNormalizer.MaxHtmlNoTags"/> bytes. A file whose normalised input is
/// larger than <see cref="HtmlNormalizer.MaxHtmlNormalize"/> is not normalised, so nothing matches it (both limits
/// measured inclusive, on the decoded length for UTF-16). An ASCII file in which an
/// HTML rule matches only later, and UTF-16LE HTML, keep their raw scan and get the same buffers scanned. With a <c>&lt;script&gt;</c>,
/// the <c>javascript</c> buffer (<see cref="JsNormalizer"/>) is scanned with targets 0 and 3, then 0 and 7, its hashes
/// both times — unless it met a construct whose normalisation is not modelled (then it is not scanned). The names
/// found join the file's; an allow-listed buffer hash clears only that buffer's names (measured).
/// </summary>
public sealed partial class ScanSession
{
    /// <summary>The target type of normalised HTML.</summary>
    private const int HtmlTarget = 3;

    /// <summary>Holds up to this size are rented from the shared pool.</summary>
    private const int PooledHtmlBytes = 1 << 20;

    private HtmlMode _html;
    private bool _htmlUtf16;
    private byte[]? _htmlBytes;
    private int _htmlLength;

    private enum HtmlMode
    {
        /// <summary>Not HTML (or not yet typed).</summary>
        None,

        /// <summary>ASCII text: its HTML normalisations are scanned too when an HTML rule matches anywhere in it.</summary>
        Candidate,

        /// <summary>HTML from its first bytes: only its normalisations are scanned.</summary>
        Typed,

        /// <summary>
        /// HTML found in the UTF-16 decoding of its first bytes (UTF-16LE, with or without its mark): scanned raw as well
        /// — no HTML rule matches the raw bytes, so clamscan's raw pass is not skipped (measured: a target-0 pattern of
        /// the UTF-16 bytes and a logical signature sized to the raw file match) — and the decoded file's normalisations.
        /// </summary>
        Decoded,
    }

    /// <summary>A session scanning one normalised buffer of <paramref name="length"/> bytes as a file of target type <paramref name="target"/>.</summary>
    private ScanSession(SignatureDatabase db, long length, int target)
        : this(db, length)
    {
        _fileTarget = target;
        _layoutKnown = true;
    }

    /// <summary>
    /// The most bytes of a file held for normalisation: clamscan compares its limits with the length of what it
    /// normalises (measured), for UTF-16 HTML the decoded file, about half as long.
    /// </summary>
    private long HtmlHoldLimit => _htmlUtf16 ? (2 * HtmlNormalizer.MaxHtmlNormalize) + 1 : HtmlNormalizer.MaxHtmlNormalize;

    /// <summary>Decides, once the file is typed, whether it is HTML (raw scan skipped) or ASCII text that may turn out HTML, and starts holding its bytes.</summary>
    private void StartHtmlRescan(int target)
    {
        if (target != FileTyping.AnyFile || _normalizedText || _html != HtmlMode.None || !_db.HtmlRescan)
        {
            return;
        }

        // StartTextRescan has typed the file.
        TextKind kind = _textKind;
        _htmlUtf16 = kind == TextKind.HtmlUtf16;
        bool tooLarge = _expectedLength is long n && n > HtmlHoldLimit;
        if (kind == TextKind.HtmlUtf16)
        {
            _html = HtmlMode.Decoded;
        }
        else if (kind == TextKind.Html)
        {
            _html = HtmlMode.Typed;

            // The file's own hash matches no signature, but an allow-list entry naming it still clears the file (measured).
            _md5 = KeepForAllowList(_md5, _db.Md5);
            _sha1 = KeepForAllowList(_sha1, _db.Sha1);
            _sha256 = KeepForAllowList(_sha256, _db.Sha256);
        }
        else if (kind == TextKind.Ascii && !tooLarge)
        {
            _html = HtmlMode.Candidate;
        }
        else
        {
            return;
        }

        if (!tooLarge)
        {
            _htmlBytes = RentHtmlBytes((int)Math.Clamp(_expectedLength ?? 0, 64 << 10, HtmlHoldLimit));
        }
    }

    /// <summary>Holds the fresh bytes for the normaliser; true when the raw file is not scanned (typed HTML).</summary>
    private bool FeedHtml(ReadOnlySpan<byte> fresh, long end)
    {
        if (_htmlBytes is not null)
        {
            if (end > HtmlHoldLimit)
            {
                ReleaseHtmlBytes();
                if (_html == HtmlMode.Candidate)
                {
                    _html = HtmlMode.None;
                }
            }
            else
            {
                if (_htmlLength + fresh.Length > _htmlBytes.Length)
                {
                    byte[] larger = RentHtmlBytes((int)Math.Min(HtmlHoldLimit, Math.Max(2L * _htmlBytes.Length, _htmlLength + fresh.Length)));
                    _htmlBytes.AsSpan(0, _htmlLength).CopyTo(larger);
                    ReturnHtmlBytes(_htmlBytes);
                    _htmlBytes = larger;
                }

                fresh.CopyTo(_htmlBytes.AsSpan(_htmlLength));
                _htmlLength += fresh.Length;
            }
        }

        if (_html != HtmlMode.Typed)
        {
            return false;
        }

        UpdateHashes(fresh, end);
        return true;
    }

    /// <summary>Ends a file typed HTML: its normalisations' names only (none when it was too large to normalise).</summary>
    private IReadOnlyList<Detection> FinishHtml()
    {
        _completed = true;
        bool allowed = FinishHash(ref _md5, _db.Md5);
        allowed |= FinishHash(ref _sha1, _db.Sha1);
        allowed |= FinishHash(ref _sha256, _db.Sha256);
        _detections.Clear();
        if (_htmlBytes is not null && !allowed)
        {
            ScanHtmlBuffers(_htmlBytes.AsSpan(0, _htmlLength));
        }

        ReleaseHtmlBytes();
        return _detections.AsReadOnly();
    }

    private static IncrementalHash? KeepForAllowList(IncrementalHash? hash, HashSignatureSet set)
    {
        if (hash is not null && set.AllowedCount == 0)
        {
            hash.Dispose();
            return null;
        }

        return hash;
    }

    /// <summary>For ASCII text in which an HTML rule matches past its first bytes, adds the names its normalisations match.</summary>
    private void MergeHtmlRescan()
    {
        if (_htmlBytes is not null
            && (_html == HtmlMode.Decoded || (_html == HtmlMode.Candidate && TextTyping.HasHtmlTag(_htmlBytes.AsSpan(0, _htmlLength), 0, out _))))
        {
            ScanHtmlBuffers(_htmlBytes.AsSpan(0, _htmlLength));
        }

        ReleaseHtmlBytes();
    }

    private void ScanHtmlBuffers(ReadOnlySpan<byte> file)
    {
        byte[]? decoded = _htmlUtf16 ? HtmlNormalizer.DecodeUtf16(file) : null;
        ReadOnlySpan<byte> html = decoded ?? file;
        if (html.Length > HtmlNormalizer.MaxHtmlNormalize)
        {
            return;
        }

        HtmlNormalization normalized = HtmlNormalizer.Normalize(html);
        var names = new HashSet<string>(_detections.Select(d => d.SignatureName), StringComparer.Ordinal);
        ScanHtmlBuffer(normalized.NoComment, names, HtmlTarget);
        if (html.Length <= HtmlNormalizer.MaxHtmlNoTags)
        {
            ScanHtmlBuffer(normalized.NoTags, names, HtmlTarget);
        }

        if (normalized.JavaScript is byte[] javascript && normalized.JavaScriptUnmodelled is null)
        {
            // Scanned as HTML, then as ASCII text (its hashes both times).
            ScanHtmlBuffer(javascript, names, HtmlTarget);
            ScanHtmlBuffer(javascript, names, TextTarget);
        }
    }

    /// <summary>Scans one normalised buffer as a file of its own (its offsets, EOF, logical counts and hashes); an empty one is not scanned.</summary>
    private void ScanHtmlBuffer(byte[] buffer, HashSet<string> names, int target)
    {
        if (buffer.Length == 0)
        {
            return;
        }

        using var session = new ScanSession(_db, buffer.Length, target);
        foreach (Detection d in session.ScanWhole(buffer))
        {
            if (names.Add(d.SignatureName))
            {
                // The match lies in a normalised buffer: no offset in the file.
                _detections.Add(new Detection(d.SignatureName, null));
            }
        }
    }

    /// <summary>Small holds come from the shared pool; large ones are plain arrays the GC reclaims (the pool would keep them).</summary>
    private static byte[] RentHtmlBytes(int size) =>
        size <= PooledHtmlBytes ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    private static void ReturnHtmlBytes(byte[] bytes)
    {
        if (bytes.Length <= PooledHtmlBytes)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private void ReleaseHtmlBytes()
    {
        if (_htmlBytes is not null)
        {
            ReturnHtmlBytes(_htmlBytes);
            _htmlBytes = null;
            _htmlLength = 0;
        }
    }
}
