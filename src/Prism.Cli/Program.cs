namespace Prism.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: prism disk <command> ...");
        return args.Length == 0 ? 2 : 2;
    }
}
