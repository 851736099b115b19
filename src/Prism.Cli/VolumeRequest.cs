namespace Prism.Cli;

/// <summary>One <c>ls|cat|extents</c> request of <see cref="VolumeCommands"/>.</summary>
internal sealed class VolumeRequest
{
    public required string Command { get; init; }

    public required string Disk { get; init; }

    public string? Path { get; init; }

    public bool Recursive { get; init; }

    public bool Json { get; init; }

    public int? Partition { get; init; }

    public string? Output { get; init; }
}
