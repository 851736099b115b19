using Prism.Disks.IO;

namespace Prism.Cli;

/// <summary>The bytes of a file's stream to <c>--output FILE</c> or to standard output (<c>prism ntfs cat</c>, <c>prism fs cat</c>).</summary>
internal static class StreamOutput
{
    /// <summary>Copies <paramref name="content"/> (<paramref name="path"/>, for errors) to <paramref name="output"/> or to
    /// <paramref name="stdout"/>; 2 when stdout cannot take binary data.</summary>
    public static int Copy(IDiskSource content, string path, string? output, TextWriter stdout, TextWriter stderr, string command)
    {
        Stream? target = null;
        bool ownTarget = false;
        if (output is not null)
        {
            // Never over a golden, a parent, a clone ($PRISM_CATALOG or the per-user catalog) or a sealed VHDX.
            Prism.Provisioner.Catalog.ProtectedDisks.Guard(null, includeClones: true).Check(output, "--output file");
            target = File.Create(output);
            ownTarget = true;
        }
        else if (stdout is StreamWriter writer)
        {
            writer.Flush();
            target = writer.BaseStream;
        }
        else if (ReferenceEquals(stdout, Console.Out))
        {
            target = Console.OpenStandardOutput();
            ownTarget = true;
        }

        if (target is null)
        {
            stderr.WriteLine($"{command}: this output cannot take binary data; use --output FILE");
            return 2;
        }

        try
        {
            byte[] buffer = new byte[1024 * 1024];
            for (long pos = 0; pos < content.Length;)
            {
                int n = content.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, content.Length - pos)), pos);
                if (n <= 0)
                {
                    throw new EndOfStreamException($"{path}: stream ended at {pos} of {content.Length} bytes");
                }

                target.Write(buffer, 0, n);
                pos += n;
            }

            target.Flush();
        }
        finally
        {
            if (ownTarget)
            {
                target.Dispose();
            }
        }

        return 0;
    }
}
