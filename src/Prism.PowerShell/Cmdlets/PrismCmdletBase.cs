using System.Collections.ObjectModel;
using System.Data.Common;
using System.Management.Automation;
using Prism.Disks.Errors;
using Prism.Provisioner;
using Prism.Scanner.Signatures;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// Shared plumbing of the Prism cmdlets: provider-path resolution and the translation of exceptions into
/// <see cref="ErrorRecord"/>s with stable error ids and categories (nothing escapes ProcessRecord).
/// </summary>
public abstract class PrismCmdletBase : PSCmdlet
{
    /// <summary>Resolves a path that may not exist yet against the current PowerShell location (not the process directory).</summary>
    private protected string ResolveNewPath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>
    /// Resolves an existing file system path (wildcards allowed) to one or more provider paths; throws
    /// <see cref="FileNotFoundException"/> when nothing matches.
    /// </summary>
    private protected IReadOnlyList<string> ResolveExistingPaths(string path)
    {
        Collection<string> resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider);
        }
        catch (ItemNotFoundException e)
        {
            throw new FileNotFoundException($"{path}: no such file", path, e);
        }

        if (provider.Name != "FileSystem")
        {
            throw new ArgumentException($"{path} is not a file system path (provider {provider.Name})", nameof(path));
        }

        if (resolved.Count == 0)
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        return resolved;
    }

    /// <summary>
    /// Resolves each of <paramref name="paths"/> (wildcards allowed) and runs <paramref name="perFile"/> on every file it
    /// matches; a path that matches nothing, or a file whose action fails, is one non-terminating error and the rest go on.
    /// </summary>
    private protected void ForEachExistingFile(IEnumerable<string> paths, Action<string> perFile)
    {
        foreach (string p in paths)
        {
            IReadOnlyList<string> files;
            try
            {
                files = ResolveExistingPaths(p);
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteItemError(e, p);
                continue;
            }

            foreach (string file in files)
            {
                try
                {
                    perFile(file);
                }
                catch (Exception e) when (IsExpected(e))
                {
                    WriteItemError(e, file);
                }
            }
        }
    }

    /// <summary>Writes a non-terminating error for one failed item.</summary>
    private protected void WriteItemError(Exception exception, object? target) => WriteError(ToErrorRecord(exception, target));

    /// <summary>Writes a terminating error: the whole command failed.</summary>
    private protected void ThrowFatal(Exception exception, object? target) => ThrowTerminatingError(ToErrorRecord(exception, target));

    /// <summary>True for the exceptions the cmdlets translate into error records (anything else is a bug and surfaces as one).</summary>
    internal static bool IsExpected(Exception e) => e is IOException or UnauthorizedAccessException or ArgumentException
        or InvalidOperationException or NotSupportedException or DbException or SessionStateException or SignatureFormatException;

    /// <summary>
    /// The error record for <paramref name="exception"/>: a <see cref="ProvisionerException"/> keeps its own ErrorId;
    /// the other families get a fixed id per kind (PrismFileNotFound, PrismDiskFormat, PrismDiskParentMissing, ...).
    /// </summary>
    internal static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        ArgumentNullException.ThrowIfNull(exception);
        (string id, ErrorCategory category) = exception switch
        {
            ProvisionerException p => (p.ErrorId, CategoryOf(p.ErrorId)),
            Prism.Disks.IO.ProtectedPathException => ("PrismProtectedPath", ErrorCategory.PermissionDenied),
            Prism.Scanner.Fleet.VerdictStoreException s => ("PrismVerdictStore",
                s.Problem is Prism.Scanner.Fleet.VerdictStoreProblem.NotAStore or Prism.Scanner.Fleet.VerdictStoreProblem.UnknownVersion
                    ? ErrorCategory.InvalidData : ErrorCategory.ResourceUnavailable),
            FileNotFoundException or DirectoryNotFoundException => ("PrismFileNotFound", ErrorCategory.ObjectNotFound),
            ItemNotFoundException => ("PrismFileNotFound", ErrorCategory.ObjectNotFound),
            DiskChainException c when c.ParentPath is null || !File.Exists(c.ParentPath) => ("PrismDiskParentMissing", ErrorCategory.ObjectNotFound),
            DiskChainException => ("PrismDiskChainBroken", ErrorCategory.InvalidData),
            DiskFormatException => ("PrismDiskFormat", ErrorCategory.InvalidData),
            SignatureFormatException => ("PrismSignatureFormat", ErrorCategory.InvalidData),
            UnauthorizedAccessException => ("PrismAccessDenied", ErrorCategory.PermissionDenied),
            ArgumentException => ("PrismInvalidArgument", ErrorCategory.InvalidArgument),
            NotSupportedException => ("PrismNotSupported", ErrorCategory.NotImplemented),
            DbException => ("PrismCatalogError", ErrorCategory.ReadError),
            InvalidOperationException => ("PrismInvalidOperation", ErrorCategory.InvalidOperation),
            _ => ("PrismIOError", ErrorCategory.WriteError),
        };
        return new ErrorRecord(exception, id, category, target);
    }

    /// <summary>Category of a provisioner error id.</summary>
    internal static ErrorCategory CategoryOf(string errorId) => errorId switch
    {
        "PrismGoldenSealed" or "PrismGoldenModified" => ErrorCategory.PermissionDenied,
        "PrismGoldenInvalid" or "PrismGoldenIsDifferencing" => ErrorCategory.InvalidData,
        "PrismHyperVUnavailable" => ErrorCategory.ResourceUnavailable,
        _ when errorId.EndsWith("NotFound", StringComparison.Ordinal) => ErrorCategory.ObjectNotFound,
        _ when errorId.EndsWith("Exists", StringComparison.Ordinal) => ErrorCategory.ResourceExists,
        _ => ErrorCategory.InvalidOperation,
    };
}
