"""$metadata (CSDL) parsing."""

from __future__ import annotations

import pytest

from bcbridge.odata import parse_metadata

EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="Microsoft.NAV" Alias="NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EnumType Name="itemType">
    <Member Name="Inventory" Value="0"/><Member Name="Service" Value="1"/>
    <Member Name="Non_x002D_Inventory" Value="2"/>
   </EnumType>
   <EntityType Name="base" Abstract="true">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
   </EntityType>
   <EntityType Name="item" BaseType="NAV.base">
    <Property Name="number" Type="Edm.String" MaxLength="20"/>
    <Property Name="type" Type="NAV.itemType"/>
    <Property Name="unitPrice" Type="Edm.Decimal" Precision="38" Scale="Variable"/>
    <Property Name="lastModifiedDateTime" Type="Edm.DateTimeOffset">
     <Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/>
    </Property>
    <Property Name="inventory" Type="Edm.Decimal">
     <Annotation Term="Org.OData.Core.V1.Permissions">
      <EnumMember>Org.OData.Core.V1.Permission/Read</EnumMember>
     </Annotation>
    </Property>
    <NavigationProperty Name="itemVariants" Type="Collection(NAV.itemVariant)" ContainsTarget="true" Partner="item"/>
    <NavigationProperty Name="itemCategory" Type="Microsoft.NAV.itemCategory"/>
   </EntityType>
   <EntityType Name="itemVariant">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
    <Property Name="code" Type="Edm.String"/>
   </EntityType>
   <EntityType Name="itemCategory">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
   </EntityType>
   <Action Name="post" IsBound="true">
    <Parameter Name="bindingParameter" Type="NAV.item"/>
   </Action>
   <Action Name="GetNo">
    <Parameter Name="company" Type="Edm.String"/>
   </Action>
   <EntityContainer Name="NAV">
    <EntitySet Name="items" EntityType="NAV.item">
     <NavigationPropertyBinding Path="itemCategory" Target="itemCategories"/>
    </EntitySet>
    <EntitySet Name="itemCategories" EntityType="Microsoft.NAV.itemCategory"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>
"""


def test_entity_sets_fields_keys_navigations():
    meta = parse_metadata(EDMX)
    items = meta.entity_sets["items"]
    assert items.key == ("id",)  # inherited from the base type
    assert list(items.fields) == [
        "id",
        "number",
        "type",
        "unitPrice",
        "lastModifiedDateTime",
        "inventory",
    ]
    assert items.fields["id"].nullable is False
    assert items.fields["number"].max_length == 20
    assert items.fields["type"].type == "Microsoft.NAV.itemType"  # alias resolved
    assert items.fields["unitPrice"].precision == 38 and items.fields["unitPrice"].scale == "Variable"
    assert items.fields["lastModifiedDateTime"].read_only
    assert items.fields["inventory"].read_only
    assert not items.fields["number"].read_only
    variants = items.entity_type.navigations["itemVariants"]
    assert (variants.type, variants.collection, variants.contains_target, variants.partner) == (
        "Microsoft.NAV.itemVariant",
        True,
        True,
        "item",
    )
    category = items.entity_type.navigations["itemCategory"]
    assert category.collection is False
    assert items.bindings == {"itemCategory": "itemCategories"}
    assert meta.enum_types["Microsoft.NAV.itemType"].captions == (
        "Inventory",
        "Service",
        "Non-Inventory",
    )
    assert meta.bound_actions("items") == ("post",)
    unbound = [a for a in meta.actions if a.binding is None]
    assert unbound[0].name == "GetNo" and unbound[0].parameters == {"company": "Edm.String"}


def test_refusals():
    with pytest.raises(ValueError, match="DTD"):
        parse_metadata(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(ValueError, match="not XML"):
        parse_metadata(b"<edmx:Edmx")
    with pytest.raises(ValueError, match="not edmx:Edmx"):
        parse_metadata(b"<html/>")
    broken = EDMX.replace(b'EntityType="Microsoft.NAV.itemCategory"', b'EntityType="NAV.nothing"')
    with pytest.raises(ValueError, match="unknown type"):
        parse_metadata(broken)


def test_parses_the_emulators_metadata():
    from bcbridge.emulator.bc import metadata as metadata_mod  # our own module: a broken import fails

    meta = parse_metadata(metadata_mod.metadata_xml())
    assert {"items", "customers", "salesOrders"} <= set(meta.entity_sets)
    items = meta.entity_sets["items"]
    assert items.key == ("id",)
    assert "lastModifiedDateTime" in items.fields
    assert "itemVariants" in items.entity_type.navigations
    assert "post" in meta.bound_actions("salesInvoices")
