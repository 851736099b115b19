namespace Prism.Scanner.Signatures;

/// <summary>
/// clamscan's second scan of binary data: a file it types binary data (no type magic, not text, no content rule; also
/// the MPEG stream magics) or compiled Python is scanned once more as type OTHER, with the target type 0 and 14
/// signatures (cli_magic_scan, after its raw scan). That scan runs over the same bytes with the same offsets, file
/// length and hashes, so its target-0 names (body, logical, hash) are the raw scan's again — clamscan prints them
/// twice, Prism reports each once —, and its target-14 logical signatures count only target-14 subsignatures, which
/// the raw scan does not have. Both scans are therefore one pass here: once the file is typed, the target-14
/// signatures apply to it alongside the target-0 ones.
/// </summary>
public sealed partial class ScanSession
{
    /// <summary>Makes the target type 14 signatures apply to a file typed binary data (<see cref="TextKind.Binary"/>).</summary>
    private void StartOtherScan()
    {
        if (_fileTarget == FileTyping.AnyFile && _textKind == TextKind.Binary)
        {
            _fileTarget = FileTyping.Other;
        }
    }
}
