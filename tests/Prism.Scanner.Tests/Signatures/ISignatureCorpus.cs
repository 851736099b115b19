namespace Prism.Scanner.Tests.Signatures;

/// <summary>A seeded corpus of the clamscan comparison tests: a database folder and the files planted for it.</summary>
internal interface ISignatureCorpus
{
    string DatabaseDirectory { get; }

    List<string> Files { get; }
}
