using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelZoo.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class CardVersions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "card_versions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    RunId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    IntendedUse = table.Column<string>(type: "TEXT", maxLength: 20000, nullable: true),
                    EthicalConsiderations = table.Column<string>(type: "TEXT", maxLength: 20000, nullable: true),
                    SavedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    SavedBy = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_card_versions", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_card_versions_RunId_Version",
                table: "card_versions",
                columns: new[] { "RunId", "Version" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "card_versions");
        }
    }
}
