namespace Prism.Provisioner.Catalog;

/// <summary>
/// The catalog refused a change because a name or path is already taken (a golden, a clone, a host that raced this one),
/// whichever database holds it: the adapters turn their unique-constraint errors into this one.
/// </summary>
public sealed class CatalogConflictException : ProvisionerException
{
    /// <summary>Creates the exception; <paramref name="errorId"/> is e.g. "PrismCloneExists".</summary>
    public CatalogConflictException(string errorId, string message, Exception? inner = null)
        : base(errorId, message, inner)
    {
    }

    /// <summary>The catalog name that is taken, when one name is the cause.</summary>
    public string? Name { get; init; }
}

/// <summary>The host this process works for: $PRISM_HOST when set, else the machine name.</summary>
public static class CatalogHost
{
    /// <summary>This host's name.</summary>
    public static string Current =>
        Environment.GetEnvironmentVariable("PRISM_HOST") is { Length: > 0 } h ? h : Environment.MachineName;

    /// <summary>
    /// A time as every catalog stores it exactly: UTC, to the microsecond (PostgreSQL's resolution), so what was written
    /// is what is read back.
    /// </summary>
    public static DateTime Truncate(DateTime t)
    {
        DateTime u = t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime();
        return new DateTime(u.Ticks - (u.Ticks % 10), DateTimeKind.Utc);
    }
}
