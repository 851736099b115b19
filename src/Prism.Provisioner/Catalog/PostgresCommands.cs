using Npgsql;

namespace Prism.Provisioner.Catalog;

/// <summary>Parameterized commands on an open PostgreSQL connection, for every PostgreSQL adapter (catalog, verdict store, scan queue).</summary>
internal static class PostgresCommands
{
    /// <summary>A command of <paramref name="sql"/> with its parameters bound (null as SQL NULL).</summary>
    internal static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach ((string n, object? v) in args)
        {
            cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        }

        return cmd;
    }

    /// <summary>Runs <paramref name="sql"/>; the number of rows it touched.</summary>
    internal static int Execute(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using NpgsqlCommand cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Runs <paramref name="sql"/>; the first column of its first row.</summary>
    internal static object? Scalar(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using NpgsqlCommand cmd = Command(c, tx, sql, args);
        return cmd.ExecuteScalar();
    }
}
