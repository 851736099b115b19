namespace Prism.Disks.Ntfs;

/// <summary>One $DATA stream of a file: the unnamed (default) stream or a named alternate data stream.</summary>
public sealed class NtfsStreamInfo
{
    internal NtfsStreamInfo(NtfsAttribute data) => Data = data;

    /// <summary>Stream name; empty for the unnamed stream.</summary>
    public string Name => Data.Name;

    /// <summary>Logical size in bytes.</summary>
    public long Size => Data.DataSize;

    /// <summary>Bytes allocated on the volume (0 for resident streams).</summary>
    public long AllocatedSize => Data.IsResident ? 0 : Data.AllocatedSize;

    /// <summary>True when the content is stored inside the MFT record.</summary>
    public bool IsResident => Data.IsResident;

    /// <summary>True when the stream is LZNT1-compressed.</summary>
    public bool IsCompressed => Data.IsCompressed;

    /// <summary>True when the stream is marked sparse.</summary>
    public bool IsSparse => Data.IsSparse;

    /// <summary>True when the stream is EFS-encrypted (its bytes are ciphertext).</summary>
    public bool IsEncrypted => Data.IsEncrypted;

    internal NtfsAttribute Data { get; }

    /// <inheritdoc />
    public override string ToString() => $"{(Name.Length == 0 ? "::$DATA" : Name)} {Size} bytes";
}
