using System.Globalization;
using Npgsql;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// How a catalog location names a PostgreSQL database: a <c>postgres://</c> or <c>postgresql://</c> URI
/// (<c>postgresql://user:password@host:port/database?sslmode=require</c>) or a key/value connection string
/// (<c>Host=h;Username=u;Password=p;Database=d</c>). Anything else is a SQLite file path. The password is kept out of
/// every message: errors about a malformed string name the key, never the value.
/// </summary>
public static class PostgresConnection
{
    /// <summary>True when <paramref name="location"/> names a PostgreSQL database rather than a file.</summary>
    public static bool IsPostgres(string? location)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            return false;
        }

        string s = location.Trim();
        if (s.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // Key/value form: some part is Host=... or Server=...
        foreach (string part in s.Split(';'))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part[..eq].Trim().ToUpperInvariant() is "HOST" or "SERVER")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What to print for <paramref name="location"/>: a file path as is, a database as <c>postgresql://user@host:port/db</c>.</summary>
    public static string Redact(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!IsPostgres(location))
        {
            return location;
        }

        try
        {
            return Display(Parse(location));
        }
        catch (ArgumentException)
        {
            return "postgresql://(unreadable connection string)";
        }
    }

    /// <summary>The connection settings of a URI or key/value string.</summary>
    /// <exception cref="ArgumentException">Malformed; the message names the part, not its value.</exception>
    internal static NpgsqlConnectionStringBuilder Parse(string location)
    {
        string s = location.Trim();
        var b = new NpgsqlConnectionStringBuilder();
        if (s.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            ParseUri(s, b);
        }
        else
        {
            foreach (string part in s.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new ArgumentException("the PostgreSQL connection string has a part without 'key=' (parts are key=value separated by ';')");
                }

                Set(b, part[..eq].Trim(), part[(eq + 1)..].Trim());
            }
        }

        if (string.IsNullOrEmpty(b.Host))
        {
            throw new ArgumentException("the PostgreSQL connection string names no host");
        }

        // The password is never handed back by the connection (and so never shows in what Npgsql prints of it).
        b.PersistSecurityInfo = false;
        return b;
    }

    private static void ParseUri(string s, NpgsqlConnectionStringBuilder b)
    {
        if (!Uri.TryCreate(s, UriKind.Absolute, out Uri? uri))
        {
            throw new ArgumentException("the PostgreSQL URI is malformed (expected postgresql://user:password@host:port/database)");
        }

        if (uri.UserInfo.Length > 0)
        {
            string[] userInfo = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(userInfo[0]);
            if (userInfo.Length == 2)
            {
                b.Password = Uri.UnescapeDataString(userInfo[1]);
            }
        }

        if (uri.Host.Length > 0)
        {
            b.Host = uri.Host.Trim('[', ']');
        }

        if (!uri.IsDefaultPort && uri.Port > 0)
        {
            b.Port = uri.Port;
        }

        string db = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (db.Length > 0)
        {
            b.Database = db;
        }

        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            Set(b, key switch
            {
                "sslmode" => "SSL Mode",
                "application_name" => "Application Name",
                "connect_timeout" => "Timeout",
                "user" => "Username",
                "dbname" => "Database",
                _ => key,
            }, value);
        }
    }

    private static void Set(NpgsqlConnectionStringBuilder b, string key, string value)
    {
        try
        {
            b[key] = value;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Npgsql's own message may quote the value: say which key, never what it held.
            throw new ArgumentException($"the PostgreSQL connection string's '{key}' is not accepted (unknown key, or a value of the wrong kind)");
        }
    }

    /// <summary>postgresql://user@host:port/database, without the password.</summary>
    internal static string Display(NpgsqlConnectionStringBuilder b) =>
        string.Create(CultureInfo.InvariantCulture,
            $"postgresql://{(string.IsNullOrEmpty(b.Username) ? "" : Uri.EscapeDataString(b.Username) + "@")}{b.Host}:{b.Port}/{b.Database ?? b.Username ?? ""}");
}
