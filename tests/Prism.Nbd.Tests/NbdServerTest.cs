using Prism.Testing;

namespace Prism.Nbd.Tests;

/// <summary>A test class with its own temporary folder and a Prism NBD server started in it for each test and stopped
/// after it.</summary>
public abstract class NbdServerTest : IAsyncLifetime
{
    private NbdTestServer? _server;

    /// <summary>The test's temporary folder.</summary>
    protected TempDir Dir { get; } = new();

    /// <summary>The running server.</summary>
    private protected NbdTestServer Server => _server ?? throw new InvalidOperationException("the server starts in InitializeAsync");

    public Task InitializeAsync()
    {
        _server = new NbdTestServer(Dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Dir.Dispose();
    }
}
