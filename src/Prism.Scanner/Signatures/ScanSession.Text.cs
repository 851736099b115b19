namespace Prism.Scanner.Signatures;

/// <summary>
/// clamscan's rescan of text (cli_scanscript): a file <see cref="TextTyping"/> types as ASCII, UTF-8 or UTF-16 text,
/// of at most <see cref="TextRescanPlan.MaxFileSize"/> bytes, is normalised (<see cref="TextNormalizer"/>) while it
/// streams past and the normalised bytes are scanned by a second session with the signatures of target types 0 and 7
/// (body, logical, PCRE; no hashes), as a scan of its own: logical signatures are evaluated on the normalised
/// matches alone (their FileSize on the file's length in clamscan's buffered mode, on the normalised length when it
/// normalises the whole file), and in the buffered mode a target-0 EOF-n offset matches nothing. Its names join the file's. An ASCII file in which an HTML rule matches anywhere is not rescanned
/// (clamscan scans its HTML normalisations instead).
/// </summary>
public sealed partial class ScanSession
{
    /// <summary>The target type of normalised text.</summary>
    private const int TextTarget = 7;

    private readonly bool _normalizedText;
    private ScanSession? _text;
    private TextNormalizer? _normalizer;
    private TextKind _textKind = TextKind.Other;
    private long _htmlAnchor = -1;
    private long _originalLength = -1;
    private byte[]? _htmlCarry;
    private int _htmlCarryLength;

    /// <summary>The length the target description block's FileSize is checked against: the file's, also for its normalised text.</summary>
    private long TargetBlockLength => _originalLength >= 0 ? _originalLength : _total;

    /// <summary>
    /// Types a file without a target-type magic once its first bytes are known (<see cref="TextTyping"/>): mail by
    /// header-line rules becomes target type 4; text starts the normalised session; the kind also decides the HTML scan
    /// (<see cref="StartHtmlRescan"/>) and binary data's (<see cref="StartOtherScan"/>).
    /// </summary>
    private void StartTextRescan(ReadOnlySpan<byte> start, int target)
    {
        if (_normalizedText || _normalizer is not null || target != FileTyping.AnyFile || !(_db.TextPlan.Enabled || _db.HasTypedTargetSignatures || _db.HtmlRescan))
        {
            return;
        }

        _textKind = TextTyping.KindOf(start);
        if (_textKind == TextKind.Mail)
        {
            _fileTarget = FileTyping.Mail;
        }

        if (!_db.TextPlan.Enabled || _textKind is not (TextKind.Ascii or TextKind.Unicode)
            || (_expectedLength is long n && n > TextRescanPlan.MaxFileSize))
        {
            return;
        }

        _text = new ScanSession(_db, null, normalizedText: true);
        _normalizer = new TextNormalizer(_text, _db.TextPlan.MaxPatternLength, _db.TextPlan.Whole);
        if (_textKind == TextKind.Ascii)
        {
            _htmlCarry = new byte[2 * TextTyping.HtmlOverlap];
        }
    }

    /// <summary>Normalises the fresh bytes into the text session; drops it when the file turns out too large or HTML.</summary>
    private void FeedText(ReadOnlySpan<byte> fresh, long freshBase)
    {
        if (freshBase + fresh.Length > TextRescanPlan.MaxFileSize || (_textKind == TextKind.Ascii && SeesHtml(fresh, freshBase)))
        {
            DisposeTextRescan();
            return;
        }

        _normalizer!.Append(fresh);
    }

    /// <summary>True when an HTML rule has matched the ASCII file so far (tags split between feeds included).</summary>
    private bool SeesHtml(ReadOnlySpan<byte> fresh, long freshBase)
    {
        byte[] carry = _htmlCarry!;
        int head = Math.Min(fresh.Length, TextTyping.HtmlOverlap);
        fresh[..head].CopyTo(carry.AsSpan(_htmlCarryLength));
        if (TextTyping.ScanHtml(carry.AsSpan(0, _htmlCarryLength + head), freshBase - _htmlCarryLength, ref _htmlAnchor)
            || TextTyping.ScanHtml(fresh, freshBase, ref _htmlAnchor))
        {
            return true;
        }

        int keep = TextTyping.HtmlOverlap - 1;
        if (fresh.Length >= keep)
        {
            fresh[^keep..].CopyTo(carry);
            _htmlCarryLength = keep;
        }
        else
        {
            int old = Math.Min(_htmlCarryLength, keep - fresh.Length);
            Buffer.BlockCopy(carry, _htmlCarryLength - old, carry, 0, old);
            fresh.CopyTo(carry.AsSpan(old));
            _htmlCarryLength = old + fresh.Length;
        }

        return false;
    }

    /// <summary>Completes the text session and adds the names it found that the file's own scan did not.</summary>
    private void MergeTextRescan()
    {
        if (_text is null || _normalizer is null)
        {
            return;
        }

        _normalizer.Complete();
        if (!_db.TextPlan.Whole)
        {
            // Buffered, clamscan evaluates the target description block against the file; whole, against the normalised file.
            _text._originalLength = _total;
        }

        IReadOnlyList<Detection> found = _text.Complete();
        var names = new HashSet<string>(_detections.Select(d => d.SignatureName), StringComparer.Ordinal);
        foreach (Detection d in found)
        {
            if (names.Add(d.SignatureName))
            {
                // The match lies in the normalised text: no offset in the file.
                _detections.Add(new Detection(d.SignatureName, null));
            }
        }

        DisposeTextRescan();
    }

    private void DisposeTextRescan()
    {
        _text?.Dispose();
        _text = null;
        _normalizer = null;
    }
}
