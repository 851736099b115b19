using System.Text.Json;
using System.Text.Json.Serialization;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// The intent of one multi-step catalog operation, written to the catalog's journal before the operation touches a file.
/// It names every file the operation will create, move aside or replace, so repair can finish or roll back an
/// operation whose process died, and so nothing else (repair, another operation) touches those files while it runs.
/// </summary>
internal sealed record OperationPlan
{
    /// <summary>clone-new, clone-reset, clone-remove, clone-forget, clone-merge, clone-promote, golden-add, golden-remove.</summary>
    public required string Kind { get; init; }

    /// <summary>Catalog names (goldens and clones) this operation changes: no other operation may hold them meanwhile.</summary>
    public IReadOnlyList<string> Exclusive { get; init; } = [];

    /// <summary>Catalog names this operation only reads (a parent being cloned): others may read them too, not change them.</summary>
    public IReadOnlyList<string> Shared { get; init; } = [];

    /// <summary>The clone or golden the operation is about.</summary>
    public string? Name { get; init; }

    /// <summary>Its file.</summary>
    public string? Path { get; init; }

    /// <summary>Its parent's file (clone new, reset, merge).</summary>
    public string? ParentPath { get; init; }

    /// <summary>clone new: the files it creates, in order.</summary>
    public IReadOnlyList<string>? NewFiles { get; init; }

    /// <summary>A file the operation builds before moving it into place (reset's fresh child, merge's merged parent, promote's flat copy).</summary>
    public string? Temp { get; init; }

    /// <summary>remove, merge: where the clone's file is moved aside until the catalog commits.</summary>
    public string? Trash { get; init; }

    /// <summary>merge: where the parent's original is kept until the catalog commits.</summary>
    public string? Backup { get; init; }

    /// <summary>promote: the new golden's file.</summary>
    public string? Target { get; init; }

    /// <summary>promote: the virtual disk id given to the new golden, so repair recognises the file it made.</summary>
    public Guid? TargetDiskId { get; init; }

    /// <summary>golden add: whether the file was already read-only before the operation sealed it.</summary>
    public bool WasSealed { get; init; }

    /// <summary>golden remove: whether the file is to be unsealed once its record is gone (it had no clones).</summary>
    public bool Unseal { get; init; }

    /// <summary>Every file path the plan names.</summary>
    public IEnumerable<string> Files()
    {
        foreach (string? p in new[] { Path, Temp, Trash, Backup, Target })
        {
            if (p is not null)
            {
                yield return p;
            }
        }

        foreach (string p in NewFiles ?? [])
        {
            yield return p;
        }
    }

    /// <summary>What the plan is about, for a report line ("clone merge of leaf").</summary>
    public string Describe() => $"{Kind.Replace('-', ' ')} of {Name ?? Path ?? "?"}";

    internal string ToJson() => JsonSerializer.Serialize(this, OperationPlanJson.Default.OperationPlan);

    internal static OperationPlan FromJson(string json) =>
        JsonSerializer.Deserialize(json, OperationPlanJson.Default.OperationPlan)
        ?? throw new InvalidDataException("catalog journal: an operation's plan is empty");
}

/// <summary>Source-generated JSON for <see cref="OperationPlan"/>.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OperationPlan))]
internal sealed partial class OperationPlanJson : JsonSerializerContext;
